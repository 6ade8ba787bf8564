"""Runs one job from claim to a terminal state (the ``jobs.run`` task is a thin wrapper around :func:`run_job`).

Steps, each written to the job row before its side effect:

1. claim (queued → preparing) with a conditional UPDATE: a redelivered message finds nothing to do;
2. snapshot the workspace (content-addressed, so an unchanged workspace is stored once; a re-run reuses its
   source's snapshot);
3. get the runtime of the spec from ``runtimes.services.acquire``; when it must be built, the build runs here,
   in a thread (a worker waiting on a build queued behind itself would wait forever), and its log lines are
   copied into the job's log;
4. restore the snapshot into a private scratch folder (the job's writable copy; the workspace is never touched);
5. running: start the entrypoint with the runtime's interpreter in the sandbox, with the backend's environment;
   stream stdout and stderr as numbered chunks, beat, sample the process tree, and watch for cancel, the org's
   time limit and a reaper that gave up on us;
6. finish with the exit code (and a readable reason for memory and process limits), clean the scratch folder,
   close the log and let the next queued job of the org start.

This thread owns the database writes of the job; the pipe readers and the build thread never touch the job row.
The job's log is ``jobs.joblog``, the supervision of the running process ``jobs.supervisor``.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from jobs.backends.base import LaunchPlan
from jobs.disk import DiskQuota
from jobs.joblog import TASK, JobLog, runtime_path_names
from jobs.models import Job, JobState
from jobs.results import copy_results_for_log
from jobs.services import dispatch_queued, scratch_dir
from jobs.supervisor import HEARTBEAT_SECONDS, Outcome, Supervisor, exit_error, human_bytes
from monitoring import tasks_query
from monitoring.ingest import EventIngest
from monitoring.injection import inject
from pyrun_web import sandbox
from pyrun_web.errors import PyrunError
from pyrun_web.heartbeat import beating
from pyrun_web.sandbox import ResourceLimits, SandboxSpec
from pyrun_web.sandbox.network import NetworkAccess

logger = logging.getLogger(__name__)

SKIPPED_SHOWN = 20


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
        f"{human_bytes(snapshot.size)} compressed"
    )
    for skipped in snapshot.skipped[:SKIPPED_SHOWN]:
        log.system(f"  left out: {skipped}")
    if len(snapshot.skipped) > SKIPPED_SHOWN:
        log.system(f"  ... and {len(snapshot.skipped) - SKIPPED_SHOWN} more left out")


def _acquire_runtime(job: Job, target: str, log: JobLog) -> Any | None:
    """The job's ready runtime: its source's for a re-run, else the one of the workspace's current spec (built
    here if need be, its lines shown in the job's log); None when the job stopped being ours meanwhile."""
    from runtimes import services as runtimes
    from runtimes.serializers import without_host_paths

    def show(text: str) -> None:
        # A build's lines name its folders (not known before it made them): shown as the runtime API shows them.
        log.system(without_host_paths(text))
        log.flush()  # a build's lines reach the job's viewers as they come

    def stopped() -> bool:
        state = job.current_state()
        if state == JobState.PREPARING:
            return False
        # Cancelled: the build goes on (the next run of this spec reuses it).
        log.system(f"== {state}: the runtime build goes on for later runs")
        return True

    try:
        return runtimes.acquire(
            job.org,
            job.workspace.spec_source(),
            target=target,
            user=job.created_by,
            reuse=job.runtime_id,
            on_runtime=lambda runtime: job.record(runtime=runtime),  # at once: while it builds, the job links to it
            on_log=show,
            should_stop=stopped,
            on_beat=job.beat,
            beat_seconds=HEARTBEAT_SECONDS,
        )
    except runtimes.RuntimeUnavailable as exc:
        raise PyrunError("job:user:runtime-failed", error=exc.reason) from exc


def _beating(job: Job) -> contextlib.AbstractContextManager[None]:
    """Heartbeats from a thread while this one is busy with one long step (a big snapshot, its restore)."""
    return beating(job.beat, HEARTBEAT_SECONDS, name=f"job-{job.pk}-heartbeat")


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
    # Not flushed here: a build's first line, or the flush just before the start, takes these lines along (one
    # flush less on a warm start).
    runtime = _acquire_runtime(job, backend.target, log)
    if runtime is None:
        return
    # The script's output and our lines name the runtime, never its folder on this host.
    log.hide_paths(runtime_path_names(runtime))
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
        f"Limits: {human_bytes(limits.memory_bytes or 0) if limits.memory_bytes else 'no'} memory, "
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
        for text in ingest.outputs.take_lines():
            log.write(TASK, text)
        job.record_task_counts(**tasks_query.task_counts(job.pk))
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
