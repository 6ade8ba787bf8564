"""A job: one run of a workspace entrypoint, and the numbered chunks of its output.

State moves only through the transition methods below. Each is a conditional UPDATE (``WHERE state IN
(...)``) so that two actors racing (a worker finishing, a user cancelling, the reaper) can never both win,
and a redelivered Celery message can never run a job twice.

    queued ──claim──▶ preparing ──mark_running──▶ running ──finish──▶ succeeded | failed
       │                 │                          │
       └──── cancel ─────┴──────── cancel ──────────┴──▶ cancelled
                         └── fail (any active) ─────┴──▶ failed     (platform errors, runtime failed, reaper)
                                                    └──▶ timed_out  (time_out: the org's max duration)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from pyrun_web.errors import PyrunError
from pyrun_web.fields import EncryptedTextField
from pyrun_web.logwriter import LogEntry
from pyrun_web.tenancy.models import Organization, TenantModel, TenantQuerySet


# A label is written where it says more than the name; Django labels the others from it ("Queued", ...).
class JobState(models.TextChoices):
    QUEUED = "queued"
    PREPARING = "preparing"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out", "Timed out"


ACTIVE_STATES = (JobState.QUEUED, JobState.PREPARING, JobState.RUNNING)
STARTED_STATES = (JobState.PREPARING, JobState.RUNNING)
TERMINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.TIMED_OUT)


class JobQuerySet(TenantQuerySet):
    def active(self) -> JobQuerySet:
        return self.filter(state__in=ACTIVE_STATES)

    def started(self) -> JobQuerySet:
        return self.filter(state__in=STARTED_STATES)

    def holding_a_slot(self) -> JobQuerySet:
        """Jobs that count against the org's concurrency quota: started, or queued but already sent to a worker
        (their message may sit in the broker for a while; counting them keeps the dispatcher from overshooting)."""
        return self.filter(
            models.Q(state__in=STARTED_STATES) | models.Q(state=JobState.QUEUED, dispatched_at__isnull=False)
        )

    def waiting(self) -> JobQuerySet:
        """Queued jobs not yet sent to a worker, oldest first (the order they start in)."""
        return self.filter(state=JobState.QUEUED, dispatched_at__isnull=True).order_by("created_at", "id")


class Job(TenantModel):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="jobs")
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entrypoint = models.CharField(max_length=500)
    args = models.JSONField(default=list, blank=True)
    # User-set environment variables may hold their own secrets (API keys): encrypted at rest, JSON inside.
    env_json = EncryptedTextField(blank=True, default="")
    backend = models.CharField(max_length=40)
    runtime = models.ForeignKey(
        "runtimes.Runtime", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    snapshot_hash = models.CharField(max_length=64, blank=True)
    rerun_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reruns")

    state = models.CharField(max_length=12, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)  # sent to a worker (still queued until claimed)
    started_at = models.DateTimeField(null=True, blank=True)  # claimed by a worker (preparing)
    running_at = models.DateTimeField(null=True, blank=True)  # the entrypoint started
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error_id = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)

    celery_task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)

    cpu_seconds = models.FloatField(null=True, blank=True)
    peak_rss_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    log_lines = models.PositiveIntegerField(default=0)
    log_bytes = models.PositiveBigIntegerField(default=0)
    # No more chunks will be written: the worker flushed its last one (or never had one to write). A terminal
    # state alone is not enough: a cancelled job's worker still writes the output it read before the kill.
    log_complete = models.BooleanField(default=False)
    # Task events the job's agent reported that were not kept: past PYRUN_MAX_TASK_EVENTS_PER_JOB, or arriving
    # faster than they could be written (monitoring.ingest adds to it).
    task_events_dropped = models.PositiveBigIntegerField(default=0)
    # The job's tasks (task/compute phases) once its events are all written: how many, how many raised, and how
    # many had not reported their end when its processes ended (lost). Kept here so a list of runs reads them
    # without an aggregate per job; null while it runs, or when it reported no events (monitoring off).
    tasks_total = models.PositiveIntegerField(null=True, blank=True)
    tasks_failed = models.PositiveIntegerField(null=True, blank=True)
    tasks_lost = models.PositiveIntegerField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["org", "state", "created_at"]),
            models.Index(fields=["state", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.entrypoint} ({self.state})"

    # --- Derived -------------------------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        return json.loads(self.env_json) if self.env_json else {}

    @env.setter
    def env(self, values: dict[str, str]) -> None:
        self.env_json = json.dumps(values, sort_keys=True) if values else ""

    @property
    def duration_seconds(self) -> float | None:
        """From the worker's claim to the end (or now, while it runs)."""
        if self.started_at is None:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def error(self) -> dict[str, str] | None:
        if not self.error_id:
            return None
        return {"id": self.error_id, "message": self.error_message}

    # --- Transitions ---------------------------------------------------------------------------------------

    def _transition(
        self, from_states: Iterable[str], to_state: JobState, *, where: dict | None = None, **fields: Any
    ) -> bool:
        updated = Job.objects.filter(pk=self.pk, state__in=list(from_states), **(where or {})).update(
            state=to_state, **fields
        )
        try:
            self.refresh_from_db()
        except Job.DoesNotExist:  # deleted with its workspace or org while it ran
            return False
        if updated:
            from jobs.events import publish_state

            publish_state(self)
        return bool(updated)

    def claim(self, *, task_id: str, worker: str) -> bool:
        """queued → preparing, once: a redelivered message finds the job already claimed and does nothing."""
        now = timezone.now()
        return self._transition(
            [JobState.QUEUED], JobState.PREPARING,
            started_at=now, heartbeat_at=now, celery_task_id=task_id, worker=worker,
        )  # fmt: skip

    def mark_running(self) -> bool:
        now = timezone.now()
        return self._transition([JobState.PREPARING], JobState.RUNNING, running_at=now, heartbeat_at=now)

    def finish(self, exit_code: int, error: PyrunError | None = None) -> bool:
        """running → succeeded (exit 0) or failed; ``error`` names why a non-zero exit happened when the runner
        knows better than the exit code (memory, process limit)."""
        state = JobState.SUCCEEDED if exit_code == 0 else JobState.FAILED
        fields: dict[str, Any] = {"exit_code": exit_code, "finished_at": timezone.now()}
        if exit_code != 0:
            error = error or PyrunError("job:user:exit-code", code=exit_code)
            fields.update(error_id=error.id, error_message=error.message)
        return self._transition([JobState.RUNNING], state, **fields)

    def fail(
        self, error: PyrunError, exit_code: int | None = None, *, heartbeat_before: datetime | None = None
    ) -> bool:
        """Any active state → failed. ``heartbeat_before``: only if the worker has still not beaten since then (the
        reaper must not fail a job whose worker came back between its query and this update)."""
        where = {"heartbeat_at__lt": heartbeat_before} if heartbeat_before else None
        return self._transition(
            ACTIVE_STATES, JobState.FAILED, where=where,
            error_id=error.id, error_message=error.message, exit_code=exit_code, finished_at=timezone.now(),
        )  # fmt: skip

    def time_out(self, seconds: int) -> bool:
        error = PyrunError("job:user:timeout", seconds=seconds)
        return self._transition(
            STARTED_STATES, JobState.TIMED_OUT,
            error_id=error.id, error_message=error.message, finished_at=timezone.now(),
        )  # fmt: skip

    def cancel(self) -> bool:
        """Any active job → cancelled at once; a worker running it sees ``cancel_requested`` and kills it."""
        error = PyrunError("job:user:cancelled")
        fields = dict(cancel_requested=True, error_id=error.id, error_message=error.message, finished_at=timezone.now())
        # A job no worker has claimed will never write a chunk: its log is complete now.
        if self._transition([JobState.QUEUED], JobState.CANCELLED, log_complete=True, **fields):
            return True
        return self._transition(STARTED_STATES, JobState.CANCELLED, **fields)

    # --- Bookkeeping (not state) ---------------------------------------------------------------------------

    def mark_dispatched(self, task_id: str) -> bool:
        """Record that a ``jobs.run`` message is on its way (the job stays queued until a worker claims it)."""
        updated = Job.objects.filter(pk=self.pk, state=JobState.QUEUED, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now(), celery_task_id=task_id
        )
        return bool(updated)

    def mark_resent(self) -> bool:
        """Restart the wait for a worker after sending the same ``jobs.run`` message again."""
        updated = Job.objects.filter(pk=self.pk, state=JobState.QUEUED, celery_task_id=self.celery_task_id).update(
            dispatched_at=timezone.now()
        )
        return bool(updated)

    def beat(self) -> None:
        Job.objects.filter(pk=self.pk, state__in=STARTED_STATES).update(heartbeat_at=timezone.now())

    def current_state(self) -> str | None:
        return Job.objects.filter(pk=self.pk).values_list("state", flat=True).first()

    def add_log_totals(self, lines: int, nbytes: int) -> None:
        Job.objects.filter(pk=self.pk).update(log_lines=F("log_lines") + lines, log_bytes=F("log_bytes") + nbytes)

    def record_task_counts(self, total: int, failed: int, lost: int) -> None:
        """Keep the task figures of the ended processes. A job that already ended (cancelled while its processes
        were being stopped) says so again on its channel, so a client that saw the end reads the figures."""
        self.record(tasks_total=total, tasks_failed=failed, tasks_lost=lost)
        if self.current_state() in TERMINAL_STATES:
            from jobs.events import publish_state

            self.refresh_from_db()
            publish_state(self)

    def record(self, **fields: Any) -> None:
        """Write facts the worker learns along the way (snapshot, runtime, usage) without touching the state."""
        allowed = {"snapshot_hash", "runtime", "runtime_id", "cpu_seconds", "peak_rss_bytes", "log_complete",
                   "tasks_total", "tasks_failed", "tasks_lost"}  # fmt: skip
        if set(fields) - allowed:
            raise ValueError(f"record() cannot write {sorted(set(fields) - allowed)}")
        Job.objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)


class LogChunk(LogEntry):
    """A numbered piece of a job's output; ``seq`` starts at 1 and has no gaps, so clients resume with
    ``?after=SEQ`` and never see a piece twice. ``text`` is what the process wrote (several lines, or part of a
    line not yet ended) on one stream."""

    class Stream(models.TextChoices):
        STDOUT = "stdout"
        STDERR = "stderr"
        SYSTEM = "system"  # platform messages (snapshot, runtime build progress, limits hit)
        TASK = "task"  # what a task printed, each line prefixed with the task (monitoring.task_output)

    owner_field = "job"
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="log_chunks")
    stream = models.CharField(max_length=6, choices=Stream.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="one_chunk_per_seq")]
