"""What the API, the admin and the tasks ask of jobs: create a run, re-run, cancel, read a page of logs, start
queued jobs within the org's quota, and fail jobs whose worker was lost.

Quota: a job holds one of its org's ``max_concurrent_jobs`` slots from the moment the dispatcher sends it to
a worker until it ends. The dispatcher runs when a job is created, whenever one ends, and on every beat of
``jobs.reap``; it starts the org's oldest waiting jobs while slots are free, inside a transaction that locks the
org row (SQLite: every transaction takes the write lock at BEGIN), so two dispatchers never share one slot.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import broker
from jobs.log_lines import joined_lines
from jobs.models import STARTED_STATES, Job, JobState, LogChunk
from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import env_policy
from pyrun_web.tenancy.models import Organization

logger = logging.getLogger(__name__)

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_ENV_VARS = 100
MAX_ENV_NAME_CHARS = 128
MAX_ENV_VALUE_CHARS = 32 * 1024
MAX_ARGS = 256
MAX_ARGS_CHARS = 64 * 1024
# Set by the platform for every job (the sandbox, the backends, the interpreter); a user value would either be
# overwritten silently or break the run, so it is refused up front.
RESERVED_ENV_NAMES = frozenset({
    "HOME", "TMPDIR", "PATH", "PWD", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUNBUFFERED",
    "PYTHONNOUSERSITE", "PYTHONSAFEPATH", "LITHOPS_CONFIG", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT",
})  # fmt: skip
# Whole families: Dask reads every DASK_* into its config, AWS_* come from the org's cloud account.
RESERVED_ENV_PREFIXES = ("DASK_", "LITHOPS_", "PYRUN_", "AWS_")


# --- Checks ------------------------------------------------------------------------------------------------


def check_entrypoint(workspace: Any, entrypoint: str) -> str:
    """The normalised relative path of ``entrypoint`` if it is a file of the workspace."""
    from workspaces import paths

    rel = paths.normalize(entrypoint)  # '..', absolute paths, NUL: workspaces:user:bad-path (400)
    if not rel:
        raise PyrunError("job:user:no-entrypoint", entrypoint=entrypoint)
    real = paths.resolve(workspace.path, rel)  # a symlink out of the workspace: bad-path as well
    if not real.is_file():
        raise PyrunError("job:user:no-entrypoint", entrypoint=rel)
    return rel


def clean_env(env: dict[str, str] | None) -> dict[str, str]:
    env = dict(env or {})
    if len(env) > MAX_ENV_VARS:
        raise PyrunError("job:user:bad-env", name=next(iter(env)), reason=f"at most {MAX_ENV_VARS} variables per run")
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name) or len(name) > MAX_ENV_NAME_CHARS:
            reason = "a name is letters, digits and _ and does not start with a digit"
            raise PyrunError("job:user:bad-env", name=str(name)[:100], reason=reason)
        if name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIXES):
            raise PyrunError("job:user:bad-env", name=name, reason="the platform sets it for every job")
        if env_policy.is_refused(name):
            raise PyrunError("job:user:bad-env", name=name, reason=env_policy.REASON)
        if not isinstance(value, str):
            raise PyrunError("job:user:bad-env", name=name, reason="its value must be text")
        if "\x00" in value or len(value) > MAX_ENV_VALUE_CHARS:
            reason = f"its value must be at most {MAX_ENV_VALUE_CHARS} characters, without NUL"
            raise PyrunError("job:user:bad-env", name=name, reason=reason)
    return env


def clean_args(args: list[str] | None) -> list[str]:
    args = list(args or [])
    if len(args) > MAX_ARGS:
        raise PyrunError("job:user:bad-args", reason=f"at most {MAX_ARGS} arguments")
    if any(not isinstance(arg, str) or "\x00" in arg for arg in args):
        raise PyrunError("job:user:bad-args", reason="each argument must be text without NUL")
    if sum(len(arg) for arg in args) > MAX_ARGS_CHARS:
        raise PyrunError("job:user:bad-args", reason=f"together at most {MAX_ARGS_CHARS} characters")
    return args


def check_backend(name: str) -> str:
    from jobs.backends import get_backend

    get_backend(name)  # job:user:bad-backend for an unknown name
    return name


# --- Runs --------------------------------------------------------------------------------------------------


def create_run(
    workspace: Any,
    user: Any,
    entrypoint: str,
    backend: str | None = None,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    rerun_of: Job | None = None,
) -> Job:
    """A queued job for ``entrypoint`` of ``workspace``; it starts once the org has a free slot.

    A re-run (``rerun_of``) runs the same code snapshot on the same runtime: its entrypoint is checked against
    that snapshot when it runs, not against today's files.
    """
    rel = entrypoint if rerun_of is not None else check_entrypoint(workspace, entrypoint)
    name = check_backend(backend or workspace.lithops_settings["default_executor"])
    job = Job(
        org=workspace.org,
        workspace=workspace,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        entrypoint=rel,
        args=clean_args(args),
        backend=name,
        rerun_of=rerun_of,
    )
    job.env = clean_env(env)
    if rerun_of is not None:
        job.snapshot_hash = rerun_of.snapshot_hash
        job.runtime_id = rerun_of.runtime_id
    job.save()
    org_id = job.org_id
    transaction.on_commit(lambda: dispatch_queued(org_id))
    return job


def rerun(job: Job, user: Any) -> Job:
    if not job.snapshot_hash:
        reason = "it ended before its code snapshot was taken; start a new run instead"
        raise PyrunError("job:user:not-rerunnable", id=job.pk, reason=reason)
    return create_run(
        job.workspace, user, job.entrypoint, backend=job.backend, args=job.args, env=job.env, rerun_of=job
    )


def cancel(job: Job) -> Job:
    """Cancel an active job at once (its worker kills the processes within a poll); 409 if it has ended."""
    if not job.cancel():
        raise PyrunError("job:user:already-finished", id=job.pk, state=job.state)
    org_id = job.org_id
    transaction.on_commit(lambda: dispatch_queued(org_id))
    return job


# --- Logs --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogPage:
    chunks: list[LogChunk]
    next_after: int
    state: str
    complete: bool


def log_page(job: Job, after: int = 0, limit: int = 1000) -> LogPage:
    """Chunks with ``seq > after``, oldest first. ``complete``: the job has ended and this page holds its last
    chunk, so a client following the log can stop."""
    # The job first, the chunks second: a job seen finished with its log closed has every chunk written already.
    job.refresh_from_db(fields=["state", "log_complete", "finished_at"])
    closed = job.log_complete or _writer_surely_gone(job)
    rows = list(job.log_chunks.filter(seq__gt=after).order_by("seq")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return LogPage(
        chunks=rows,
        next_after=rows[-1].seq if rows else after,
        state=job.state,
        complete=job.is_terminal and closed and not more,
    )


def log_text_chunks(job_id: int) -> Iterator[str]:
    """The job's whole output as text, chunk by chunk in seq order (the log download): read in batches, so a
    100 MB log is never held in memory."""
    rows = LogChunk.objects.filter(job_id=job_id).order_by("seq").values_list("stream", "text")
    yield from joined_lines(rows.iterator(chunk_size=500))


def _writer_surely_gone(job: Job) -> bool:
    # A cancelled job whose worker died before closing the log: nobody will write to it after this long.
    if not job.is_terminal or job.finished_at is None:
        return False
    return job.finished_at < timezone.now() - timedelta(seconds=settings.PYRUN_JOB_HEARTBEAT_TIMEOUT_SECONDS)


# --- Dispatch ----------------------------------------------------------------------------------------------


def dispatch_queued(org_id: int) -> list[int]:
    """Send the org's oldest waiting jobs to the workers while it has free slots; returns their ids."""
    sent: list[tuple[int, str]] = []
    with transaction.atomic():
        org = Organization.objects.select_for_update().filter(pk=org_id).first()
        if org is None:
            return []
        free = org.limits.max_concurrent_jobs - Job.objects.for_org(org).holding_a_slot().count()
        if free <= 0:
            return []
        for job in Job.objects.for_org(org).waiting()[:free]:
            task_id = str(uuid.uuid4())
            if job.mark_dispatched(task_id):
                sent.append((job.pk, task_id))
        # After commit: the worker must find the job marked, and a rolled-back dispatch must send nothing.
        transaction.on_commit(lambda: [send_run(job_id, task_id) for job_id, task_id in sent])
    return [job_id for job_id, _ in sent]


def dispatch_all() -> int:
    """Run the dispatcher for every org with waiting jobs (the beat's safety net for a lost trigger)."""
    org_ids = set(Job.objects.waiting().values_list("org_id", flat=True).distinct())
    return sum(len(dispatch_queued(org_id)) for org_id in sorted(org_ids))


def send_run(job_id: int, task_id: str) -> None:
    from jobs.tasks import run

    run.apply_async(args=[job_id], task_id=task_id)


def resend_lost_dispatches() -> list[int]:
    """Send again the ``jobs.run`` message of every job dispatched a while ago, still unclaimed, whose message
    the broker no longer holds (see :mod:`jobs.broker`); returns their ids. Same task id: a worker that does get
    both runs the job once."""
    cutoff = timezone.now() - timedelta(seconds=settings.PYRUN_JOB_RESEND_AFTER_SECONDS)
    stale = list(Job.objects.filter(state=JobState.QUEUED, dispatched_at__lt=cutoff).exclude(celery_task_id=""))
    if not stale:
        return []
    held = broker.message_ids(settings.CELERY_TASK_ROUTES["jobs.run"]["queue"])
    if held is None:
        return []
    resent = []
    for job in stale:
        if job.celery_task_id not in held and job.mark_resent():
            logger.warning("job %s: its run message %s was lost; sent again", job.pk, job.celery_task_id)
            send_run(job.pk, job.celery_task_id)
            resent.append(job.pk)
    return resent


def scratch_dir(job_id: int) -> Path:
    """The job's writable copy of its code, on the worker that runs it."""
    return Path(settings.DATA_DIR) / "scratch" / str(job_id)


# --- Reaper ------------------------------------------------------------------------------------------------


def reap_lost_jobs() -> list[int]:
    """Fail preparing/running jobs whose worker stopped beating (killed, OOM, machine lost); frees their slots."""
    cutoff = timezone.now() - timedelta(seconds=settings.PYRUN_JOB_HEARTBEAT_TIMEOUT_SECONDS)
    error = PyrunError("job:platform:worker-lost")
    reaped: list[int] = []
    for job in Job.objects.filter(state__in=STARTED_STATES, heartbeat_at__lt=cutoff):
        if job.fail(error, heartbeat_before=cutoff):
            logger.warning("job %s: worker %s stopped beating; failed", job.pk, job.worker)
            job.record(log_complete=True)  # its writer is gone
            # Its scratch copy, if the lost worker shared this machine (a live but stuck worker stops at its
            # next state poll anyway).
            shutil.rmtree(scratch_dir(job.pk), ignore_errors=True)
            reaped.append(job.pk)
    for org_id in set(Job.objects.filter(pk__in=reaped).values_list("org_id", flat=True)):
        dispatch_queued(org_id)
    return reaped
