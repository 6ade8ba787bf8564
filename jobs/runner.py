"""Runs one job from claim to a terminal state (the ``jobs.run`` task is a thin wrapper around :func:`run_job`).

Steps, each written to the job row before its side effect:

1. claim (queued → preparing) with a conditional UPDATE: a redelivered message finds nothing to do;
2. snapshot the workspace (content-addressed, so an unchanged workspace is stored once; a re-run reuses its
   source's snapshot);
3. get the runtime of the spec; when it must be built, the build runs here, in a thread (a worker waiting on a
   build queued behind itself would wait forever), and its log lines are copied into the job's log;
4. restore the snapshot into a private scratch folder (the job's writable copy; the workspace is never touched);
5. running: start the entrypoint with the runtime's interpreter in the sandbox, with the backend's environment;
   stream stdout and stderr as numbered chunks, beat, sample the process tree, and watch for cancel, the org's
   time limit and a reaper that gave up on us;
6. finish with the exit code (and a readable reason for memory and process limits), clean the scratch folder,
   close the log and let the next queued job of the org start.

This thread owns the database writes of the job; the pipe readers and the build thread never touch the job row.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Max

from jobs import events
from jobs.backends.base import LaunchPlan
from jobs.disk import DiskQuota
from jobs.models import Job, JobState, LogChunk
from jobs.results import copy_results_for_log
from jobs.services import dispatch_queued, scratch_dir
from monitoring import live as monitoring_live
from monitoring.ingest import EventIngest
from monitoring.injection import inject
from monitoring.samples import ProcessTreeSampler
from pyrun_web import sandbox
from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import ResourceLimits, SandboxSpec
from pyrun_web.sandbox.network import NetworkAccess

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1  # output reaches the database and the websocket at most this late
FLUSH_BYTES = 256 * 1024  # ... or as soon as this much is waiting
CHUNK_CHARS = 64 * 1024  # largest chunk row
MAX_LOG_BYTES = 64 * 1024**2  # a job printing without end must not fill the database
LOOP_SECONDS = 0.02  # longest wait for output before the loop looks at task events, state and samples again
STATE_POLL_SECONDS = 0.25  # how quickly a cancel (or a reaper) is noticed
HEARTBEAT_SECONDS = 3.0  # well under PYRUN_JOB_HEARTBEAT_TIMEOUT_SECONDS
SAMPLE_SECONDS = 1.0
DISK_CHECK_SECONDS = 1.0  # at least; a large working copy is measured less often (see Supervisor._check_disk)
# Once the process has exited, how long its pipes may stay open (only a daemon escaping the sandbox's PID
# namespace, i.e. running without bwrap, can hold them).
EXIT_GRACE_SECONDS = 2.0
READ_BYTES = 64 * 1024
STDERR_TAIL_CHARS = 8 * 1024
RUNTIME_POLL_SECONDS = 0.25
SKIPPED_SHOWN = 20
# Last lines of a traceback that mean a resource limit, not a bug in the script.
_MEMORY_ERROR = re.compile(r"MemoryError\b|\w+(\.\w+)*\._ArrayMemoryError|.*Cannot allocate memory")
_PROCESS_LIMIT = re.compile(r"BlockingIOError: \[Errno 11\]|RuntimeError: can't start new thread")
_DISK_FULL = re.compile(r".*(\[Errno 28\]|No space left on device)")

STDOUT, STDERR, SYSTEM = LogChunk.Stream.STDOUT, LogChunk.Stream.STDERR, LogChunk.Stream.SYSTEM


# --- The job's log -----------------------------------------------------------------------------------------


class JobLog:
    """The numbered chunks of one job. Only the thread running the job writes them, so seqs are counted here
    and have no gaps; consecutive output of one stream is merged into one chunk."""

    def __init__(self, job: Job) -> None:
        self.job = job
        last = LogChunk.objects.filter(job_id=job.pk).aggregate(last=Max("seq"))["last"]
        self.next_seq = (last or 0) + 1
        self.pending: list[tuple[str, str]] = []
        self.pending_bytes = 0
        self.first_pending_at: float | None = None
        self.written_bytes = job.log_bytes
        self.truncated = False
        self.stderr_tail = ""

    def write(self, stream: str, text: str) -> None:
        if not text:
            return
        text = text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL; binary output is not text anyway
        if stream == STDERR:
            self.stderr_tail = (self.stderr_tail + text)[-STDERR_TAIL_CHARS:]
        nbytes = len(text.encode("utf-8", "replace"))
        if stream != SYSTEM and self.written_bytes + self.pending_bytes + nbytes > MAX_LOG_BYTES:
            if not self.truncated:
                self.truncated = True
                limit = MAX_LOG_BYTES // 1024**2
                self.system(f"[output truncated: the job printed more than {limit} MiB; the rest is not kept]")
            return
        if self.first_pending_at is None:
            self.first_pending_at = time.monotonic()
        self.pending.append((stream, text))
        self.pending_bytes += nbytes

    def system(self, line: str) -> None:
        self.write(SYSTEM, line.rstrip("\n") + "\n")

    def due(self) -> bool:
        if not self.pending or self.first_pending_at is None:
            return False
        return self.pending_bytes >= FLUSH_BYTES or time.monotonic() - self.first_pending_at >= FLUSH_SECONDS

    def flush(self) -> int:
        if not self.pending:
            return 0
        pieces, nbytes = self.pending, self.pending_bytes
        self.pending, self.pending_bytes, self.first_pending_at = [], 0, None
        merged: list[list[str]] = []  # [stream, text]
        for stream, text in pieces:
            while text:
                if merged and merged[-1][0] == stream and len(merged[-1][1]) < CHUNK_CHARS:
                    room = CHUNK_CHARS - len(merged[-1][1])
                    merged[-1][1] += text[:room]
                    text = text[room:]
                else:
                    merged.append([stream, text[:CHUNK_CHARS]])
                    text = text[CHUNK_CHARS:]
        rows = [
            LogChunk(job_id=self.job.pk, seq=self.next_seq + i, stream=stream, text=text)
            for i, (stream, text) in enumerate(merged)
        ]
        LogChunk.objects.bulk_create(rows)
        self.next_seq += len(rows)
        self.written_bytes += nbytes
        self.job.add_log_totals(sum(text.count("\n") for _, text in merged), nbytes)
        events.publish_log(self.job.pk, rows)
        return len(rows)


# --- Running the process -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    exit_code: int | None = None
    stopped_as: str = ""  # the state someone else moved the job to (cancelled, failed by the reaper, timed out)
    process_limit_hit: bool = False
    disk_quota_hit: bool = False


def _read_pipe(fd: int, stream: str, out: queue.Queue) -> None:
    try:
        while data := os.read(fd, READ_BYTES):
            out.put((stream, data))
    except OSError:
        pass
    finally:
        out.put((stream, None))


def _has_exited(pid: int) -> bool:
    # WNOWAIT: look without reaping, so the pids cgroup (removed when Popen reaps) can still be read.
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _pids_limit_hits(process: sandbox.SandboxProcess) -> int:
    if process.pids_cgroup is None:
        return 0
    try:
        text = (process.pids_cgroup / "pids.events").read_text()
    except OSError:
        return 0
    found = re.search(r"^max (\d+)", text, re.M)
    return int(found.group(1)) if found else 0


def _normal_exit_code(code: int) -> int:
    # bwrap reports a signal death as 128+N, a plain Popen (no bwrap) as -N: show the shell's form either way.
    return 128 - code if code < 0 else code


class Supervisor:
    """Streams one sandboxed process into the job log (and its agent's task events and resource samples into
    monitoring) and stops it on cancel, reap or time limit."""

    def __init__(
        self,
        job: Job,
        log: JobLog,
        process: sandbox.SandboxProcess,
        max_seconds: int,
        ingest: EventIngest | None,
        disk: DiskQuota,
    ) -> None:
        self.job = job
        self.log = log
        self.process = process
        self.max_seconds = max_seconds
        self.ingest = ingest
        self.usage = ProcessTreeSampler(process.pid)
        self.next_sample_seq = 1
        self.outcome = Outcome()
        self.queue: queue.Queue = queue.Queue()
        self.decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in (STDOUT, STDERR)}
        self.open_streams = {STDOUT, STDERR}
        self.disk = disk

    def run(self) -> Outcome:
        readers = [
            threading.Thread(target=_read_pipe, args=(pipe.fileno(), stream, self.queue), daemon=True)
            for pipe, stream in ((self.process.stdout, STDOUT), (self.process.stderr, STDERR))
        ]
        for reader in readers:
            reader.start()
        started = time.monotonic()
        deadline = started + self.max_seconds
        next_poll = next_beat = next_sample = started
        exited_at: float | None = None
        while True:
            self._drain(timeout=LOOP_SECONDS)
            now = time.monotonic()
            if self.log.due():
                self.log.flush()
            if self.ingest is not None:
                self.ingest.check()  # the events are written by the ingest's own thread
                for line in self.ingest.take_notices():  # e.g. the cap on task events was reached
                    self.log.system(line)
            if exited_at is None and _has_exited(self.process.pid):
                exited_at = now
                self.outcome.process_limit_hit = _pids_limit_hits(self.process) > 0
            if exited_at is not None and (not self.open_streams or now - exited_at > EXIT_GRACE_SECONDS):
                break
            if self.outcome.stopped_as:
                continue  # killed: only waiting for the pipes to close
            if now >= next_poll:
                next_poll = now + STATE_POLL_SECONDS
                state = self.job.current_state()
                if state != JobState.RUNNING:
                    self._stop(str(state))
                    continue
            if now >= deadline and exited_at is None:
                self.job.time_out(self.max_seconds)
                self._stop(self.job.state)
                continue
            if now >= next_beat:
                next_beat = now + HEARTBEAT_SECONDS
                self.job.beat()
            if now >= next_sample and exited_at is None:
                next_sample = now + SAMPLE_SECONDS
                self._sample()
            if exited_at is None and self.disk.due(now) and self.disk.exceeded():
                self._stop_for_disk()
        self.process.kill_all()  # anything left (a fallback sandbox's daemon holding the pipes)
        code = self._reap()
        for reader in readers:
            reader.join(1)
        self._drain(timeout=0)
        for stream, decoder in self.decoders.items():
            self.log.write(stream, decoder.decode(b"", final=True))
        if not any(reader.is_alive() for reader in readers):  # else a reader would read a reused descriptor
            self.process.stdout.close()
            self.process.stderr.close()
        self.outcome.exit_code = _normal_exit_code(code)
        # Written in its last moments: the working copy is still there to measure (the tmpfs are gone).
        if not self.outcome.disk_quota_hit and self.disk.limit and self.disk.exceeded():
            self.outcome.disk_quota_hit = True
        return self.outcome

    def _stop_for_disk(self) -> None:
        self.outcome.disk_quota_hit = True
        self.process.kill_all()
        self.log.system(
            f"== stopped: the job used {_human_bytes(self.disk.last_used)} of disk, over its limit of "
            f"{_human_bytes(self.disk.limit or 0)}"
        )

    def _sample(self) -> None:
        sample = self.usage.sample(self.next_sample_seq, self.job.pk)
        if sample is None:
            return
        sample.save(force_insert=True)
        self.next_sample_seq += 1
        monitoring_live.publish_samples(self.job.pk, [sample])

    def _reap(self) -> int:
        """Reap the sandbox with its resource usage; Popen then only releases the sandbox's host resources."""
        try:
            _, status, usage = os.wait4(self.process.pid, 0)
        except ChildProcessError:  # reaped elsewhere: Popen knows the code
            return self.process.wait()
        self.usage.reaped(usage)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        return self.process.wait()

    def _drain(self, timeout: float) -> None:
        try:
            item = self.queue.get(timeout=timeout) if timeout else self.queue.get_nowait()
        except queue.Empty:
            return
        while True:
            stream, data = item
            if data is None:
                self.open_streams.discard(stream)
            else:
                self.log.write(stream, self.decoders[stream].decode(data))
            if self.log.pending_bytes >= FLUSH_BYTES:
                return  # let the caller flush before reading on
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return

    def _stop(self, state: str) -> None:
        self.outcome.stopped_as = state
        self.process.kill_all()
        reasons = {
            JobState.CANCELLED: "== cancelled: the job's processes were stopped",
            JobState.TIMED_OUT: f"== stopped: the job ran longer than its limit of {self.max_seconds} s",
        }
        self.log.system(reasons.get(state, f"== stopped: the job is {state} (its worker was given up on)"))


# --- Outcome -----------------------------------------------------------------------------------------------


def _human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def exit_error(
    code: int, stderr_tail: str, limits: ResourceLimits, process_limit_hit: bool, disk_quota_hit: bool = False
) -> PyrunError:
    """Why a non-zero exit happened, as readable as we can tell: a resource limit, a signal, or the code."""
    # The last line of a traceback is the exception that ended the script.
    last_line = (stderr_tail.strip().splitlines() or [""])[-1]
    if limits.disk_bytes and (disk_quota_hit or _DISK_FULL.match(last_line)):
        return PyrunError("job:user:disk-quota", limit=_human_bytes(limits.disk_bytes), code=code)
    if limits.max_processes and (process_limit_hit or _PROCESS_LIMIT.match(last_line)):
        return PyrunError("job:user:process-limit", limit=limits.max_processes, code=code)
    # RLIMIT_AS makes allocations fail (MemoryError); a native library may be killed instead.
    if limits.memory_bytes and (_MEMORY_ERROR.match(last_line) or code == 128 + signal.SIGKILL):
        return PyrunError("job:user:memory-limit", limit=_human_bytes(limits.memory_bytes), code=code)
    if code > 128:
        with contextlib.suppress(ValueError):
            return PyrunError("job:user:killed", signal=signal.Signals(code - 128).name, code=code)
    return PyrunError("job:user:exit-code", code=code)


# --- Preparing ---------------------------------------------------------------------------------------------


def _take_snapshot(job: Job, log: JobLog) -> None:
    from jobs.snapshots import take_snapshot

    if job.snapshot_hash:
        log.system(f"Code snapshot {job.snapshot_hash[:12]} (the one job {job.rerun_of_id or '?'} ran)")
        return
    snapshot = take_snapshot(job.workspace)
    job.record(snapshot_hash=snapshot.digest)
    log.system(
        f"Code snapshot {snapshot.digest[:12]}: {snapshot.files} files, {snapshot.folders} folders, "
        f"{_human_bytes(snapshot.size)} compressed"
    )
    for skipped in snapshot.skipped[:SKIPPED_SHOWN]:
        log.system(f"  left out: {skipped}")
    if len(snapshot.skipped) > SKIPPED_SHOWN:
        log.system(f"  ... and {len(snapshot.skipped) - SKIPPED_SHOWN} more left out")


def _ensure_runtime(job: Job, target: str) -> Any:
    """The runtime row to wait for: the source job's for a re-run (rebuilt if it is gone or failed), else the
    one of the workspace's current spec."""
    from runtimes import director
    from runtimes import services as runtimes
    from runtimes.models import Runtime

    if job.runtime_id is not None:
        runtime = Runtime.objects.filter(pk=job.runtime_id).first()
        if runtime is not None:
            if runtime.state == Runtime.State.READY and runtime.has_interpreter:
                runtime.touch()
                return runtime
            if runtime.is_active:
                return runtime
            try:
                spec = director.spec_of(runtime)
            except PyrunError as error:
                raise PyrunError("job:user:runtime-failed", error=error.message) from error
            return runtimes.ensure_runtime(job.org, spec, runtime.target, job.created_by)
    return runtimes.ensure_workspace_runtime(job.workspace, user=job.created_by, target=target)


class _RuntimeWait:
    """Builds the runtime in a thread when nobody has claimed its build yet, then waits for it to end."""

    def __init__(self, runtime_id: int) -> None:
        self.runtime_id = runtime_id
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name=f"runtime-{runtime_id}", daemon=True)

    def _work(self) -> None:
        from runtimes import director
        from runtimes import services as runtimes
        from runtimes.models import Runtime

        try:
            runtime = Runtime.objects.get(pk=self.runtime_id)
            if runtime.state == Runtime.State.PENDING:
                # Claimed with the queued task's id: whichever of us and the build task gets there first builds.
                director.run_build(runtime.pk, runtime.celery_task_id or None)
            self.result = runtimes.wait_ready(self.runtime_id, settings.PYRUN_BUILD_TIMEOUT_SECONDS + 120)
        except BaseException as exc:
            self.error = exc
        finally:
            connections.close_all()  # this thread's connections


def _wait_for_runtime(job: Job, runtime: Any, log: JobLog) -> Any | None:
    """The ready runtime; None when the job stopped being ours meanwhile (cancelled)."""
    from runtimes.models import Runtime, RuntimeLogLine

    if runtime.state == Runtime.State.READY:
        log.system(f"Runtime {runtime.pk} ready (Python {runtime.python_version}, {runtime.builder})")
        return runtime
    if runtime.state == Runtime.State.FAILED:  # not retried: a spec that does not parse
        raise PyrunError("job:user:runtime-failed", error=runtime.error_message or runtime.error_id)
    log.system(f"Runtime {runtime.pk} is {runtime.state}: building it ({runtime.source or 'default spec'})")
    log.flush()
    lines = RuntimeLogLine.objects.filter(runtime_id=runtime.pk)
    # The log holds every attempt; this one starts at its header line (whoever claims the build writes it, maybe
    # before we look): pending → the next attempt, building → the current one.
    attempt = runtime.attempts + 1 if runtime.state == Runtime.State.PENDING else runtime.attempts
    header = f"== build #{attempt} of runtime {runtime.pk} "
    shown: int | None = None
    waiter = _RuntimeWait(runtime.pk)
    waiter.thread.start()
    next_beat = time.monotonic()
    gone = False
    while True:
        waiter.thread.join(RUNTIME_POLL_SECONDS)
        alive = waiter.thread.is_alive()
        if not gone and shown is None:
            first = lines.filter(text__startswith=header).values_list("seq", flat=True).first()
            shown = None if first is None else first - 1
        if not gone and shown is not None:
            for seq, text in lines.filter(seq__gt=shown).order_by("seq").values_list("seq", "text"):
                log.system(f"[runtime {runtime.pk}] {text}")
                shown = seq
            if log.due():
                log.flush()
        if time.monotonic() >= next_beat:
            next_beat = time.monotonic() + HEARTBEAT_SECONDS
            job.beat()
        if not gone and job.current_state() != JobState.PREPARING:
            # Cancelled: the build goes on (the next run of this spec reuses it); this worker waits for its end.
            log.system(f"== {job.current_state()}: the runtime build goes on for later runs")
            gone = True
        if not alive:
            break
    log.flush()
    if gone:
        return None
    if waiter.error is not None:
        raise waiter.error
    ready = waiter.result
    if ready.state != Runtime.State.READY:
        raise PyrunError("job:user:runtime-failed", error=ready.error_message or ready.error_id or "unknown error")
    log.system(f"Runtime {ready.pk} ready (Python {ready.python_version}, {ready.builder})")
    return ready


@contextlib.contextmanager
def _beating(job: Job) -> Iterator[None]:
    """Heartbeats from a thread while this one is busy with one long step (a big snapshot, its restore)."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_SECONDS):
                job.beat()
        finally:
            connections.close_all()  # this thread's connections

    thread = threading.Thread(target=beat, name=f"job-{job.pk}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# --- The run -----------------------------------------------------------------------------------------------


def run_job(job_id: int, *, task_id: str = "", worker: str = "") -> str:
    """Run ``job_id`` if this caller can claim it; returns the state it ended in (or why it did not run)."""
    job = Job.objects.select_related("org", "workspace").filter(pk=job_id).first()
    if job is None:
        return "missing"
    if not job.claim(task_id=task_id, worker=worker):
        return f"not claimed ({job.state})"
    log = JobLog(job)
    scratch = scratch_dir(job.pk)
    try:
        _run(job, log, scratch)
    except BaseException as exc:
        error = exc if isinstance(exc, PyrunError) else PyrunError("job:platform:crashed")
        if isinstance(exc, Exception) and not isinstance(exc, PyrunError):
            logger.exception("job %s crashed", job.pk, exc_info=exc)
        with contextlib.suppress(Exception):
            log.system(f"== failed: {error.message}")
            log.flush()
        job.fail(error)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: the process is going down
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(Exception):
            log.flush()
        job.record(log_complete=True)
        _dispatch_next(job.org_id)
    return job.current_state() or "missing"


def _dispatch_next(org_id: int) -> None:
    try:
        dispatch_queued(org_id)
    except Exception:  # the beat's dispatcher runs again within seconds
        logger.exception("could not dispatch the queued jobs of org %s", org_id)


def _run(job: Job, log: JobLog, scratch: Path) -> None:
    from jobs.backends import get_backend
    from jobs.snapshots import restore_snapshot

    backend = get_backend(job.backend)
    log.system(f"Job {job.pk} on {job.backend}, worker {job.worker or '?'}")
    with _beating(job):
        _take_snapshot(job, log)
    log.flush()
    runtime = _ensure_runtime(job, backend.target)
    job.record(runtime=runtime)  # at once: while it builds, the job links to its build log
    runtime = _wait_for_runtime(job, runtime, log)
    if runtime is None:
        return
    interpreter = runtime.interpreter
    if interpreter is None or not runtime.has_interpreter:
        raise PyrunError(
            "job:platform:runtime-unusable", runtime=runtime.pk, backend=job.backend, reason="it has no interpreter"
        )
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    with _beating(job):
        restore_snapshot(job.snapshot_hash, scratch)
        # Assuming an AWS role (the Lambda backend) is a network round trip too.
        plan = backend.plan(job=job, runtime=runtime, interpreter=interpreter, settings=job.workspace.lithops_settings)
    try:
        _run_planned(job, log, scratch, runtime, interpreter, plan)
    finally:
        plan.close()


def _run_planned(job: Job, log: JobLog, scratch: Path, runtime: Any, interpreter: str, plan: LaunchPlan) -> None:
    # A python argument starting with "-" would be read as an option.
    entry = job.entrypoint if not job.entrypoint.startswith("-") else f"./{job.entrypoint}"
    if not (scratch / job.entrypoint).is_file():
        raise PyrunError("job:user:no-entrypoint", entrypoint=job.entrypoint)
    for note in plan.notes:
        log.system(note)
    limits = ResourceLimits.for_org(job.org.limits)
    max_seconds = job.org.limits.max_job_seconds
    ingest = _start_ingest(job, log)
    agent = inject(ingest)
    spec = SandboxSpec(
        argv=[interpreter, entry, *job.args],
        workdir=scratch,
        runtime_prefixes=runtime.interpreter_prefixes,
        ro_binds=[*plan.ro_binds, *agent.ro_binds],
        rw_binds=agent.rw_binds,
        env=job_env(job, runtime, plan, agent),
        limits=limits,
        network=NetworkAccess(allow=tuple(plan.network_allow)),
        root=runtime.sandbox_root,
    )
    for renewal in plan.renewals:
        renewal.start()
    try:
        _start_and_supervise(job, log, spec, limits, max_seconds, entry, ingest)
    finally:
        if ingest is not None:
            ingest.close()


def job_env(job: Job, runtime: Any, plan: LaunchPlan, agent: Any) -> dict[str, str]:
    """The job's variables: the image's ``ENV`` (image runtimes), then the user's, then the plan's and the
    agent's, which win (reserved names are refused at creation anyway); an image's PYTHONPATH stays after the
    agent's."""
    env = {**runtime.image_env, **job.env, **plan.env, **agent.env, "PYTHONUNBUFFERED": "1"}
    image_path = runtime.image_env.get("PYTHONPATH")
    if image_path and "PYTHONPATH" in agent.env:
        env["PYTHONPATH"] = f"{agent.env['PYTHONPATH']}:{image_path}"
    return env


def _start_ingest(job: Job, log: JobLog) -> EventIngest | None:
    try:
        return EventIngest(job.pk).start().start_flushing()
    except OSError as exc:  # the job runs on; only its task events are missing
        logger.warning("job %s: no agent socket (%s)", job.pk, exc)
        log.system(f"Task monitoring is off for this run: {exc}")
        return None


def _start_and_supervise(
    job: Job,
    log: JobLog,
    spec: SandboxSpec,
    limits: ResourceLimits,
    max_seconds: int,
    entry: str,
    ingest: EventIngest | None,
) -> None:
    log.system(
        f"Limits: {_human_bytes(limits.memory_bytes or 0) if limits.memory_bytes else 'no'} memory, "
        f"{limits.max_processes or 'no limit on'} processes, {max_seconds} s"
    )
    log.system("$ python " + shlex.join([entry, *job.args]))
    log.flush()
    if not job.mark_running():
        log.system(f"== {job.state} before the script started")
        return
    process = sandbox.popen(spec, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = time.monotonic()
    disk = DiskQuota(spec.workdir, limits.disk_bytes, process.pid)
    supervisor = Supervisor(job, log, process, max_seconds, ingest, disk)
    try:
        outcome = supervisor.run()
    finally:
        process.kill_all()
        if process.returncode is None:
            process.wait()
    if ingest is not None:
        ingest.close()  # every event is written before the job's end is: a client seeing the end sees them all
        for line in ingest.take_notices():
            log.system(line)
    usage = supervisor.usage
    job.record(cpu_seconds=round(usage.cpu_seconds, 3), peak_rss_bytes=usage.peak_rss or None)
    _finish(job, log, outcome, limits, time.monotonic() - started, spec.workdir)


def _finish(
    job: Job, log: JobLog, outcome: Outcome, limits: ResourceLimits, seconds: float, workdir: Path | None = None
) -> None:
    code = outcome.exit_code if outcome.exit_code is not None else -1
    if outcome.stopped_as:
        log.flush()
        return
    if outcome.disk_quota_hit and code == 0:
        code = 1  # it finished, but past its disk limit: its output is not to be trusted as complete
    error = (
        None
        if code == 0
        else exit_error(code, log.stderr_tail, limits, outcome.process_limit_hit, outcome.disk_quota_hit)
    )
    log.system(f"== exited with code {code} after {seconds:.1f} s" + (f": {error.message}" if error else ""))
    # Before the end is visible: a client that sees the job succeeded finds its results in the workspace.
    if code == 0 and workdir is not None and (note := copy_results_for_log(job.workspace, workdir)):
        log.system(note)
    log.flush()
    job.finish(code, error)
