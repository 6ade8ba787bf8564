"""Runs one build of a runtime from claim to ready or failed (the Celery task is a thin wrapper).

The builder runs in its own thread and never touches the database; this thread owns the Runtime row: it
writes the log in small batches, sends heartbeats, and turns a cancel request (or the deadline) into the
``BuildContext.cancelled`` event the builder's commands watch. Only a complete build is published (see
``runtimes.layout``) and marked ready.

:func:`follow_build` is the other side: a caller that needs the runtime (a job's worker) waits for the build's
end, running it itself when nobody has claimed it yet, and sees this attempt's log lines as they come.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections

from pyrun_web.errors import PyrunError
from pyrun_web.heartbeat import Ticker
from runtimes import layout
from runtimes.builders import load_builder, load_publisher
from runtimes.builders.base import BuildContext, BuildResult
from runtimes.buildlog import BuildLog
from runtimes.models import Runtime, RuntimeLogLine, enter_build_phase
from runtimes.spec import RuntimeSpec, parse_dockerfile, parse_environment

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25
HEARTBEAT_SECONDS = 2.0
# After a cancel, how long the builder thread gets to stop its command before the build is failed anyway.
STOP_GRACE_SECONDS = 30.0
FOLLOW_POLL_SECONDS = 0.25  # how often a follower looks for new lines, the build's end and its own stop


@dataclass
class _Outcome:
    result: BuildResult | None = None
    error: BaseException | None = None


def spec_of(runtime: Runtime) -> RuntimeSpec:
    """The spec a runtime was created from; a file that did not parse fails again with its own error."""
    data = runtime.spec
    if "invalid_text" in data:
        parse = parse_dockerfile if runtime.kind == Runtime.Kind.DOCKER else parse_environment
        return parse(data["invalid_text"])
    context = layout.context_dir(runtime.pk)
    return RuntimeSpec.from_json(data, context_dir=str(context) if context.is_dir() else "")


def build_header(attempt: int, runtime_id: int) -> str:
    """The first line of each attempt's log (followed by the builder and target): :func:`follow_build` finds
    the lines of one attempt by it."""
    return f"== build #{attempt} of runtime {runtime_id}"


def run_build(runtime_id: int, task_id: str | None = None, *, soft_limit: type[BaseException] | None = None) -> str:
    """Build ``runtime_id`` if this caller can claim it; returns the state it ended in (or why it did not run).

    ``soft_limit``: an exception type the caller's framework raises at a time limit (Celery's), turned into
    ``runtime:user:timeout``.
    """
    runtime = Runtime.objects.filter(pk=runtime_id).first()
    if runtime is None:
        return "missing"
    if not runtime.claim_build(task_id):
        return f"not claimed ({runtime.state})"
    enter_build_phase(runtime.pk, "")  # this attempt has reached no step yet
    log = BuildLog(runtime.pk)
    log.write(f"{build_header(runtime.attempts, runtime.pk)} ({runtime.builder} builder, {runtime.target})")
    build_dir = layout.new_build_dir(runtime.pk)
    final = layout.final_prefix(runtime.org_id, runtime.spec_hash)
    ctx = BuildContext(
        runtime_id=runtime.pk,
        org_id=runtime.org_id,
        spec=None,
        prefix=build_dir,
        context_dir=layout.context_dir(runtime.pk),
        log=log.write,
        timeout_s=float(settings.PYRUN_BUILD_TIMEOUT_SECONDS),
        python_version=runtime.python_version,
        target=runtime.target,
        phase=lambda phase: enter_build_phase(runtime.pk, phase),
    )
    started = time.monotonic()
    try:
        for stray in layout.stray_build_dirs(runtime.pk, keep=_current_build_dir(final)):
            layout.remove_tree(stray)  # left by builds that crashed before they could clean up
        ctx.spec = spec_of(runtime)
        result = _supervise(runtime, ctx, log, soft_limit)
        if result.prefix:
            result.prefix = str(final)
            result.extra["build_dir"] = str(build_dir)
        previous = layout.publish(build_dir, final) if result.extra.get("build_dir") else None
        log.write(f"== ready in {time.monotonic() - started:.1f}s")
        log.flush()
        if not runtime.mark_ready(result):
            # Someone failed the row meanwhile (a reaper that thought us dead): the row is the truth.
            layout.unpublish(final, build_dir)
            layout.remove_tree(build_dir)
            runtime.refresh_from_db()
            return runtime.state
        layout.remove_tree(previous)
        enter_build_phase(runtime.pk, Runtime.Phase.DONE)
        return Runtime.State.READY
    except BaseException as exc:
        error = _as_error(exc, ctx, soft_limit)
        log.write(f"== failed after {time.monotonic() - started:.1f}s: {error.message}")
        log.flush()
        runtime.mark_failed(error, from_states=(Runtime.State.BUILDING,))
        # A failed runtime has no final prefix, even one left by an earlier successful build of it.
        layout.remove_tree(final)
        layout.remove_tree(build_dir)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: the process is going down
        return Runtime.State.FAILED


def _current_build_dir(final: Path) -> Path | None:
    # The link's own target (what publish wrote), not a resolved path: the data dir may sit behind a symlink.
    return Path(os.readlink(final)) if final.is_symlink() else None


def _supervise(
    runtime: Runtime, ctx: BuildContext, log: BuildLog, soft_limit: type[BaseException] | None
) -> BuildResult:
    builder = load_builder(runtime.builder)
    publisher = load_publisher(runtime.target)
    outcome = _Outcome()

    def work() -> None:
        try:
            result = builder.build(ctx)
            if publisher is not None:
                ctx.phase(Runtime.Phase.PUBLISH)
                ctx.log(f"== publishing to {runtime.target}")
                result = publisher.publish(ctx, result)
            outcome.result = result
        except BaseException as exc:
            outcome.error = exc
        finally:
            connections.close_all()  # publishers look up the org's cloud account: this thread's connections

    thread = threading.Thread(target=work, name=f"build-{runtime.pk}", daemon=True)
    thread.start()
    beat = Ticker(HEARTBEAT_SECONDS, wait_first=True)
    stop_deadline: float | None = None
    try:
        while thread.is_alive():
            thread.join(FLUSH_SECONDS)
            log.flush()
            now = time.monotonic()
            if beat.due(now) and runtime.heartbeat() and not ctx.cancelled.is_set():
                ctx.log("== cancel requested")
                ctx.cancelled.set()
            if ctx.cancelled.is_set() and stop_deadline is None:
                stop_deadline = now + STOP_GRACE_SECONDS
            if stop_deadline is not None and now > stop_deadline:
                raise PyrunError("runtime:user:cancelled")  # the builder ignores the event: give up on it
    except BaseException as exc:
        ctx.cancelled.set()  # stop the builder's command, whatever stopped us
        thread.join(STOP_GRACE_SECONDS if soft_limit and isinstance(exc, soft_limit) else 5)
        raise
    log.flush()
    if outcome.error is not None:
        raise outcome.error
    assert outcome.result is not None
    return outcome.result


def _as_error(exc: BaseException, ctx: BuildContext, soft_limit: type[BaseException] | None) -> PyrunError:
    if isinstance(exc, PyrunError):
        return exc
    if soft_limit is not None and isinstance(exc, soft_limit):
        # Celery's soft limit, or a revoke with SIGUSR1 (which raises the same exception) after a cancel.
        if Runtime.objects.filter(pk=ctx.runtime_id, cancel_requested_at__isnull=False).exists():
            return PyrunError("runtime:user:cancelled")
        return PyrunError("runtime:user:timeout", seconds=int(ctx.timeout_s))
    if isinstance(exc, Exception):
        logger.exception("build of runtime %s crashed", ctx.runtime_id, exc_info=exc)
    return PyrunError("runtime:platform:build-crashed")


# --- Following a build -------------------------------------------------------------------------------------


class _BuildThread(threading.Thread):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(name=f"runtime-{runtime.pk}", daemon=True)
        self.runtime_id = runtime.pk
        self.task_id = runtime.celery_task_id or None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            # Claimed with the queued task's id: whichever of us and the build task gets there first builds.
            run_build(self.runtime_id, self.task_id)
        except BaseException as exc:
            self.error = exc
        finally:
            connections.close_all()  # this thread's connections


def settled(runtime_id: int) -> Runtime | None:
    """The runtime once its build has ended (ready or failed), else None. A build whose worker stopped beating
    is failed here, so a waiter never outlives a lost build by more than the heartbeat staleness."""
    runtime = Runtime.objects.get(pk=runtime_id)
    if runtime.state == Runtime.State.BUILDING and Runtime.objects.filter(pk=runtime_id).reap_stale():
        runtime.refresh_from_db()
    return runtime if runtime.state in (Runtime.State.READY, Runtime.State.FAILED) else None


def follow_build(
    runtime: Runtime,
    *,
    on_log: Callable[[str], None],
    should_stop: Callable[[], bool],
    on_beat: Callable[[], object] | None = None,
    beat_seconds: float = 3.0,
    timeout: float | None = None,
) -> Runtime | None:
    """Wait for the build of a pending or building ``runtime`` to end; returns the row ready or failed, or None
    once ``should_stop`` said so.

    A pending build runs here, in a thread: a worker waiting on a build queued behind itself would wait forever.
    The lines of this attempt reach ``on_log`` as they are stored, one string per batch (a line each, prefixed
    ``[runtime N]``); ``on_beat`` is called every ``beat_seconds``. After a stop the build goes on, so that the
    next user of the spec finds it built; one running in this thread is still waited for, since its thread
    owns it. Raises ``runtime:platform:wait-timeout`` when the build outlives its own time limit by far.
    """
    timeout = settings.PYRUN_BUILD_TIMEOUT_SECONDS + 120 if timeout is None else timeout
    deadline = time.monotonic() + timeout
    # The log holds every attempt; this one starts at its header (whoever claims the build writes it, maybe
    # before we look): pending → the next attempt, building → the current one.
    attempt = runtime.attempts + 1 if runtime.state == Runtime.State.PENDING else runtime.attempts
    header = build_header(attempt, runtime.pk) + " "
    lines = RuntimeLogLine.objects.filter(runtime_id=runtime.pk)
    shown: int | None = None
    builder = _BuildThread(runtime) if runtime.state == Runtime.State.PENDING else None
    if builder is not None:
        builder.start()
    beat = Ticker(beat_seconds)
    stopped = False
    while True:
        if builder is not None and builder.is_alive():
            builder.join(FOLLOW_POLL_SECONDS)
        else:
            time.sleep(FOLLOW_POLL_SECONDS)
        building_here = builder is not None and builder.is_alive()
        ended = None if building_here else settled(runtime.pk)
        if not stopped and shown is None:
            first = lines.filter(text__startswith=header).values_list("seq", flat=True).first()
            shown = None if first is None else first - 1
        if not stopped and shown is not None:
            batch = list(lines.filter(seq__gt=shown).order_by("seq").values_list("seq", "text"))
            if batch:
                shown = batch[-1][0]
                on_log("\n".join(f"[runtime {runtime.pk}] {text}" for _, text in batch))
        if on_beat is not None and beat.due():
            on_beat()
        if not stopped and should_stop():
            stopped = True
        if stopped and not building_here:
            return None
        if builder is not None and builder.error is not None and not building_here:
            raise builder.error
        if ended is not None:
            return ended
        if not building_here and time.monotonic() >= deadline:
            raise PyrunError("runtime:platform:wait-timeout", id=runtime.pk, seconds=int(timeout))
