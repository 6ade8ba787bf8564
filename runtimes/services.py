"""What the rest of the platform asks of runtimes: the spec of a folder (a :class:`SpecSource`, which its
owner builds: runtimes knows no workspace), a runtime for a spec (reused or built once), waiting for it, rebuild,
cancel, delete, and a source's runtime status.

Jobs call :func:`acquire`: concurrent callers for the same spec get the same row and one build.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from pyrun_web import safe_walk
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import Organization
from runtimes import director, layout
from runtimes.buildlog import BuildLog
from runtimes.interpreters import resolved_version
from runtimes.models import TOUCH_SECONDS, Runtime, RuntimeUse
from runtimes.spec import (
    DOCKERFILE,
    ENVIRONMENT_FILE,
    RuntimeSpec,
    default_spec,
    files_digest,
    invalid_spec_hash,
    parse_dockerfile,
    parse_environment,
    spec_hash,
)

logger = logging.getLogger(__name__)

MAX_SPEC_BYTES = 1024 * 1024
SPEC_ERRORS = {"runtime:user:bad-yaml", "runtime:user:bad-spec", "runtime:user:bad-dockerfile",
               "runtime:user:spec-unreadable"}  # fmt: skip
WAIT_POLL_SECONDS = 0.25


# --- The spec of a workspace ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecSource:
    """A folder whose ``.pyrun/`` holds a runtime spec, and whom the runtimes given for it are recorded for (see
    ``RuntimeUse``). Its owner builds it (``Workspace.spec_source()``)."""

    org_id: int
    root: Path
    subject: str  # never reused by a later owner, e.g. "workspace:<storage id>"


@dataclass(frozen=True)
class SpecFile:
    source: str  # ".pyrun/environment.yml" or ".pyrun/Dockerfile"
    text: str
    pyrun_dir: Path

    @property
    def kind(self) -> str:
        return Runtime.Kind.DOCKER if self.source == DOCKERFILE else Runtime.Kind.CONDA

    def parse(self) -> RuntimeSpec:
        if self.kind == Runtime.Kind.DOCKER:
            spec = parse_dockerfile(self.text)
            return replace(spec, context_dir=str(self.pyrun_dir))
        return parse_environment(self.text)


def read_spec_file(source: SpecSource) -> SpecFile | None:
    """The source's Dockerfile, else its environment.yml, else None. Opened relative to the source's folder
    without following symlinks: a link to a host file must not become a runtime spec (or an error text)."""
    root = source.root
    for source in (DOCKERFILE, ENVIRONMENT_FILE):
        text = _read_inside(root, source)
        if text is not None:
            return SpecFile(source, text, root / ".pyrun")
    return None


def _read_inside(root: Path, rel: str) -> str | None:
    try:
        handle, _ = safe_walk.open_inside(root, rel)
    except FileNotFoundError:
        return None
    except OSError as exc:  # not a regular file, ELOOP (a symlink), ENOTDIR, EACCES
        raise PyrunError("runtime:user:spec-unreadable", path=rel, reason="it is not a regular file") from exc
    with handle:
        data = handle.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise PyrunError("runtime:user:spec-unreadable", path=rel, reason=f"it is larger than {MAX_SPEC_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PyrunError("runtime:user:spec-unreadable", path=rel, reason="it is not UTF-8 text") from None


def runtime_for_workspace(source: SpecSource) -> RuntimeSpec:
    """The source's runtime spec (the platform default without a `.pyrun/` spec); PyrunError naming the
    line when the file is wrong."""
    found = read_spec_file(source)
    return found.parse() if found else default_spec()


# --- Identity ---------------------------------------------------------------------------------------------


# A container image is built from a Dockerfile; a Lambda layer from a local prefix.
UNSUPPORTED_TARGETS = {(Runtime.Kind.CONDA, Runtime.Target.IMAGE), (Runtime.Kind.DOCKER, Runtime.Target.LAMBDA_LAYER)}


def target_for(kind: str, target: str) -> str:
    """The target a runtime of ``kind`` is built for when a backend asks for ``target``: AWS Lambda runs an
    environment.yml as a layer and a Dockerfile as a container image."""
    if kind == Runtime.Kind.DOCKER and target == Runtime.Target.LAMBDA_LAYER:
        return Runtime.Target.IMAGE
    return target


def choose_builder(spec: RuntimeSpec, target: str) -> str:
    if (spec.kind, target) in UNSUPPORTED_TARGETS:
        raise PyrunError("runtime:user:target-unsupported", source=_source_of(spec), target=target)
    if spec.kind == Runtime.Kind.DOCKER:
        return Runtime.Builder.DOCKER
    return Runtime.Builder.UV if spec.is_pip_only else Runtime.Builder.CONDA


def _source_of(spec: RuntimeSpec) -> str:
    return DOCKERFILE if spec.kind == Runtime.Kind.DOCKER else ENVIRONMENT_FILE


def _context_files(spec: RuntimeSpec) -> list[tuple[str, bytes]]:
    if spec.kind != Runtime.Kind.DOCKER or not spec.context_dir:
        return []
    try:
        return layout.read_tree(Path(spec.context_dir))
    except ValueError as exc:
        raise PyrunError("runtime:user:spec-unreadable", path=".pyrun/", reason=str(exc)) from exc


def _python_for_hash(spec: RuntimeSpec) -> str:
    # A Docker image brings its own Python; everything else runs on a host interpreter (or a channel's).
    return spec.python if spec.kind == Runtime.Kind.DOCKER else resolved_version(spec.python)


def identity(spec: RuntimeSpec, target: str) -> tuple[str, str, list[tuple[str, bytes]]]:
    """(spec hash, resolved python, build-context files) of ``spec`` built for ``target``."""
    files = _context_files(spec)
    python = _python_for_hash(spec)
    digest = files_digest(files) if files else ""
    return spec_hash(spec, target=target, python_version=python, context_files_digest=digest), python, files


# --- Build quota -------------------------------------------------------------------------------------------


def month_start(now: datetime | None = None) -> datetime:
    """The first instant of the current calendar month (UTC, the platform's time zone)."""
    now = now or timezone.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def build_seconds_this_month(org: Organization, now: datetime | None = None) -> float:
    """Build time the org used this calendar month: builds started this month, up to their end (or now, while
    they run). A runtime keeps the times of its latest attempt only, so a rebuilt runtime counts once."""
    now = now or timezone.now()
    rows = Runtime.objects.for_org(org).filter(started_at__gte=month_start(now))
    times = rows.values_list("started_at", "finished_at")
    return sum(((finished or now) - started).total_seconds() for started, finished in times)


def check_build_quota(org: Organization) -> None:
    """Refuse to queue a build once the org has used its build minutes for the month (0 = no limit); checked
    where builds are queued, so a build already running always finishes."""
    limit = org.limits.max_build_minutes_per_month
    if not limit:
        return
    used = build_seconds_this_month(org) / 60
    if used >= limit:
        start = month_start()
        resets = (start + timedelta(days=32)).replace(day=1).date().isoformat()
        raise PyrunError("runtime:user:build-quota-exceeded", used=f"{used:.0f}", limit=limit, resets=resets)


# --- Ensure, wait ------------------------------------------------------------------------------------------


def ensure_runtime(
    org: Organization, spec: RuntimeSpec, target: str = Runtime.Target.LOCAL, user=None, *, subject: str = ""
) -> Runtime:
    """The org's runtime for ``spec`` and ``target``: a ready one is reused as is; otherwise one build is
    queued (a failed one is retried) and the row returned at once: :func:`wait_ready` waits for it."""
    builder = choose_builder(spec, target)
    digest, python, files = identity(spec, target)
    runtime = Runtime.objects.filter(org=org, spec_hash=digest).first()
    if runtime is None:
        runtime = _create(org, digest, spec, target, builder, user, python, files)
    elif runtime.state == Runtime.State.READY and _prefix_lost(runtime):
        logger.warning("runtime %s is ready but its prefix %s is gone: rebuilding", runtime.pk, runtime.prefix)
        _queue(runtime)
    elif runtime.state == Runtime.State.READY:
        runtime.touch()
    elif runtime.state == Runtime.State.FAILED:
        _queue(runtime)
    if subject:
        record_use(runtime, subject)
    return runtime


def _prefix_lost(runtime: Runtime) -> bool:
    return bool(runtime.prefix) and not Path(runtime.prefix).exists()


def _create(org, digest: str, spec: RuntimeSpec, target: str, builder: str, user, python: str, files) -> Runtime:
    check_build_quota(org)
    task_id = str(uuid.uuid4())
    runtime, created = _create_once(
        org,
        digest,
        kind=spec.kind,
        builder=builder,
        target=target,
        source=_source_of(spec),
        spec=spec.to_json(),
        python_version="" if python.startswith("unavailable:") else python,
        celery_task_id=task_id,
        created_by=user,
    )
    if not created:
        return runtime
    if files:
        layout.write_context(runtime.pk, files)
    _dispatch(runtime.pk, task_id)
    return runtime


def _create_once(org: Organization, digest: str, **fields: Any) -> tuple[Runtime, bool]:
    """The org's runtime of ``digest``, created with ``fields``, and True; or, when a concurrent caller created it
    first, theirs (it is ours too) and False."""
    try:
        with transaction.atomic():
            return Runtime.objects.create(org=org, spec_hash=digest, **fields), True
    except IntegrityError:
        return Runtime.objects.get(org=org, spec_hash=digest), False


def _queue(runtime: Runtime) -> bool:
    """failed|ready → pending and one build task; False if someone else already queued it."""
    check_build_quota(runtime.org)
    task_id = str(uuid.uuid4())
    if not runtime.request_build(task_id):
        runtime.refresh_from_db()
        return False
    _dispatch(runtime.pk, task_id)
    return True


def _dispatch(runtime_id: int, task_id: str) -> None:
    # After commit: a worker must find the row it is sent, and a rolled-back request must not build.
    transaction.on_commit(lambda: send_build(runtime_id, task_id))


def send_build(runtime_id: int, task_id: str) -> None:
    from runtimes.tasks import build

    build.apply_async(args=[runtime_id], task_id=task_id)


def record_use(runtime: Runtime, subject: str) -> None:
    """Remember that ``subject`` was given ``runtime`` (written at most once a minute per pair)."""
    now = timezone.now()
    use, created = RuntimeUse.objects.get_or_create(
        subject=subject, runtime=runtime, defaults={"org_id": runtime.org_id, "used_at": now}
    )
    if not created and use.used_at < now - timedelta(seconds=TOUCH_SECONDS):
        RuntimeUse.objects.filter(pk=use.pk).update(used_at=now)


def record_invalid(org: Organization, found: SpecFile, error: PyrunError, target: str, user=None) -> Runtime:
    """A spec file that does not parse still gets a (failed) runtime: its error and log are where the user
    looks, through the same API as any build."""
    digest = invalid_spec_hash(found.source, found.text, target=target)
    runtime = Runtime.objects.filter(org=org, spec_hash=digest).first()
    if runtime is not None:
        return runtime
    runtime, created = _create_once(
        org,
        digest,
        kind=found.kind,
        target=target,
        source=found.source,
        spec={"invalid_text": found.text},
        created_by=user,
    )
    if not created:
        return runtime
    log = BuildLog(runtime.pk)
    log.write(f"== {found.source} was not built: {error.message}")
    log.flush()
    runtime.mark_failed(error)
    return runtime


def ensure_workspace_runtime(
    source: SpecSource, *, user=None, target: str = Runtime.Target.LOCAL, org: Organization | None = None
) -> Runtime:
    """The runtime of a source's current spec (see :func:`ensure_runtime`); an unparsable spec file gives a
    failed runtime whose error names the line. ``org``: the source's org when the caller has it at hand."""
    org = org or Organization.objects.get(pk=source.org_id)
    found = read_spec_file(source)
    try:
        spec = found.parse() if found else default_spec()
    except PyrunError as error:
        if error.id not in SPEC_ERRORS or found is None:
            raise
        return record_invalid(org, found, error, target_for(found.kind, target), user)
    target = target_for(spec.kind, target)
    return ensure_runtime(org, spec, target, user, subject=source.subject)


def wait_ready(runtime_id: int, timeout: float, *, poll: float = WAIT_POLL_SECONDS) -> Runtime:
    """Block until the build ends; returns the runtime (``ready`` or ``failed``, see ``error_id``).

    Raises ``runtime:platform:wait-timeout`` after ``timeout`` seconds. A build whose worker died is failed
    here too, so a waiter never outlives a lost build by more than the heartbeat staleness.
    """
    deadline = time.monotonic() + timeout
    while (runtime := director.settled(runtime_id)) is None:
        if time.monotonic() >= deadline:
            raise PyrunError("runtime:platform:wait-timeout", id=runtime_id, seconds=int(timeout))
        time.sleep(poll)
    return runtime


# --- Acquire: a ready runtime for a run --------------------------------------------------------------------


class RuntimeUnavailable(Exception):
    """The runtime could not be built; ``reason`` says why, readably (the build's error or the spec's)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def acquire(
    org: Organization,
    source: SpecSource,
    *,
    target: str,
    user=None,
    reuse: int | None = None,
    on_runtime: Callable[[Runtime], None] | None = None,
    on_log: Callable[[str], None],
    should_stop: Callable[[], bool],
    on_beat: Callable[[], object] | None = None,
    beat_seconds: float = 3.0,
) -> Runtime | None:
    """A ready runtime for a run: the one of the source's current spec, or with ``reuse`` (a re-run) that runtime
    as is when it is ready, else its spec built again (the source's current spec when the row is gone).

    Waiting for a build runs it here when nobody has claimed it yet (see :func:`director.follow_build`).
    ``on_runtime`` learns the row before any wait (so the run can link to its build log); ``on_log`` gets lines
    for the run's log: where the runtime stands and the lines of this build attempt; ``on_beat`` is called every
    ``beat_seconds`` while waiting. Returns None when ``should_stop`` said so (the build goes on for later runs);
    raises :class:`RuntimeUnavailable` when the runtime cannot be built.
    """
    runtime = _runtime_to_acquire(org, source, target, user, reuse)
    if on_runtime is not None:
        on_runtime(runtime)
    if runtime.state == Runtime.State.FAILED:  # not retried: a spec that does not parse
        raise RuntimeUnavailable(runtime.error_message or runtime.error_id)
    if runtime.state != Runtime.State.READY:
        on_log(f"Runtime {runtime.pk} is {runtime.state}: building it ({runtime.source or 'default spec'})")
        ended = director.follow_build(
            runtime, on_log=on_log, should_stop=should_stop, on_beat=on_beat, beat_seconds=beat_seconds
        )
        if ended is None:
            return None
        if ended.state != Runtime.State.READY:
            raise RuntimeUnavailable(ended.error_message or ended.error_id or "unknown error")
        runtime = ended
    on_log(f"Runtime {runtime.pk} ready (Python {runtime.python_version}, {runtime.builder})")
    return runtime


def _runtime_to_acquire(org: Organization, source: SpecSource, target: str, user, reuse: int | None) -> Runtime:
    runtime = Runtime.objects.filter(pk=reuse).first() if reuse is not None else None
    if runtime is None:
        return ensure_workspace_runtime(source, user=user, target=target, org=org)
    if runtime.state == Runtime.State.READY and runtime.has_interpreter:
        runtime.touch()
        return runtime
    if runtime.is_active:
        return runtime
    try:
        spec = director.spec_of(runtime)
    except PyrunError as error:
        raise RuntimeUnavailable(error.message) from error
    return ensure_runtime(org, spec, runtime.target, user)


# --- Rebuild, cancel, delete -------------------------------------------------------------------------------


def rebuild(runtime: Runtime) -> Runtime:
    if runtime.is_active:
        raise PyrunError("runtime:user:busy", id=runtime.pk, state=runtime.state)
    if not _queue(runtime):
        raise PyrunError("runtime:user:busy", id=runtime.pk, state=runtime.state)
    return runtime


def cancel(runtime: Runtime) -> Runtime:
    """A pending build fails at once; a running one stops within a heartbeat and ends failed (cancelled)."""
    queued_task = runtime.celery_task_id if runtime.state == Runtime.State.PENDING else ""
    if not runtime.request_cancel():
        raise PyrunError("runtime:user:not-building", id=runtime.pk, state=runtime.state)
    transaction.on_commit(lambda: revoke_queued(queued_task))
    return runtime


def delete_runtime(runtime: Runtime) -> None:
    """Delete a runtime that is not building; its files go once the deletion commits (see signals)."""
    with transaction.atomic():
        locked = Runtime.objects.select_for_update().filter(pk=runtime.pk).first()
        if locked is None:
            return
        if locked.is_active:
            raise PyrunError("runtime:user:busy", id=locked.pk, state=locked.state)
        locked.delete()


# --- Status of a workspace ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceRuntimeStatus:
    status: str  # none | building | ready | failed | outdated
    runtime: Runtime | None
    error: dict | None = None


_STATUS_OF_STATE = {
    Runtime.State.PENDING: "building",
    Runtime.State.BUILDING: "building",
    Runtime.State.READY: "ready",
    Runtime.State.FAILED: "failed",
}


def workspace_runtime_status(source: SpecSource, target: str = Runtime.Target.LOCAL) -> WorkspaceRuntimeStatus:
    """Where the runtime of the source's current spec stands; *outdated* when it has none yet but the source
    used a ready runtime of an earlier spec. Reads only: nothing is built or recorded."""
    error, found = None, None
    try:
        found = read_spec_file(source)
        spec = found.parse() if found else default_spec()
        digest = identity(spec, target)[0]
    except PyrunError as exc:
        if exc.id not in SPEC_ERRORS:
            raise
        error = {"id": exc.id, "message": exc.message}
        digest = invalid_spec_hash(found.source, found.text, target=target) if found else ""
    current = Runtime.objects.filter(org_id=source.org_id, spec_hash=digest).first() if digest else None
    if current is not None:
        return WorkspaceRuntimeStatus(_STATUS_OF_STATE[current.state], current, current.error or error)
    if error is not None:
        return WorkspaceRuntimeStatus("failed", None, error)
    used = (
        RuntimeUse.objects.filter(org_id=source.org_id, subject=source.subject, runtime__state=Runtime.State.READY)
        .select_related("runtime")
        .first()
    )
    if used is not None:
        return WorkspaceRuntimeStatus("outdated", used.runtime)
    return WorkspaceRuntimeStatus("none", None)


def revoke_queued(task_id: str) -> None:
    """Drop a queued build task (best effort; the task's claim would find nothing to do anyway)."""
    if not task_id:
        return
    with contextlib.suppress(Exception):
        from pyrun_web.celery import app

        app.control.revoke(task_id)
