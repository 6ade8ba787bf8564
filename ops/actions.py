"""What an operator does to jobs and runtimes, from the admin or a management command: each goes through the
domain's services and transitions, and writes an audit entry in the same transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job, JobState
from pyrun_web.audit.models import Action, Via
from pyrun_web.audit.services import record
from pyrun_web.errors import PyrunError
from runtimes import cleanup
from runtimes import services as runtime_services
from runtimes.models import Runtime


@transaction.atomic
def cancel_job(job: Job, *, by: Any, via: Via) -> bool:
    """Cancel an active job (its worker kills it within a poll); False when it had already ended."""
    before = job.state
    try:
        job_services.cancel(job)
    except PyrunError:
        return False
    record(Action.JOB_CANCELLED, actor=by, via=via, target=job, details={"state": [before, job.state]})
    return True


@transaction.atomic
def rerun_job(job: Job, *, by: Any, via: Via) -> Job:
    """A new run of the same snapshot (PyrunError ``job:user:not-rerunnable`` without one)."""
    new = job_services.rerun(job, by)
    record(Action.JOB_RERUN, actor=by, via=via, target=job, details={"new_job": new.pk})
    return new


@transaction.atomic
def mark_job_failed(job: Job, *, by: Any, via: Via) -> bool:
    """Fail an active job (``job:platform:marked-failed``): for a job stuck where cancel is not the truth, e.g.
    its worker is gone before the reaper noticed. A live worker sees the state and stops it. False when the job
    had already ended."""
    before = job.state
    if not job.fail(PyrunError("job:platform:marked-failed")):
        return False
    if before == JobState.QUEUED:
        job.record(log_complete=True)  # no worker claimed it: nobody will ever write its log
    org_id = job.org_id
    transaction.on_commit(lambda: job_services.dispatch_queued(org_id))  # its slot is free for the next job
    record(Action.JOB_MARKED_FAILED, actor=by, via=via, target=job, details={"state": [before, job.state]})
    return True


@transaction.atomic
def rebuild_runtime(runtime: Runtime, *, by: Any, via: Via) -> None:
    """Queue a new build (PyrunError when it is building, or the org is out of build minutes)."""
    runtime_services.rebuild(runtime)
    record(Action.RUNTIME_REBUILT, actor=by, via=via, target=runtime, details={"spec_hash": runtime.spec_hash})


@transaction.atomic
def delete_runtime(runtime: Runtime, *, by: Any, via: Via) -> None:
    """Delete a runtime that is not building (PyrunError ``runtime:user:busy`` otherwise); files go on commit."""
    details = {"spec_hash": runtime.spec_hash, "state": runtime.state, "size_bytes": runtime.size_bytes}
    # Written first (the row is gone after); a refused delete rolls the entry back with it.
    record(Action.RUNTIME_DELETED, actor=by, via=via, target=runtime, details=details)
    runtime_services.delete_runtime(runtime)


def gc_cutoff() -> Any:
    return timezone.now() - timedelta(days=settings.PYRUN_RUNTIME_GC_DAYS)


@transaction.atomic
def delete_unused_runtimes(queryset: QuerySet[Runtime], *, by: Any, via: Via) -> list[int]:
    """Of ``queryset``, delete the runtimes unused for the GC period (the same rule as the beat's GC); the rule
    is re-checked in the DELETE itself, so a runtime used or rebuilt meanwhile stays. Returns the deleted ids."""
    cutoff = gc_cutoff()
    ids = sorted(queryset.unused_since(cutoff).values_list("pk", flat=True))
    Runtime.objects.filter(pk__in=ids).unused_since(cutoff).delete()
    deleted = sorted(set(ids) - set(Runtime.objects.filter(pk__in=ids).values_list("pk", flat=True)))
    if deleted:
        details = {"deleted": deleted, "unused_days": settings.PYRUN_RUNTIME_GC_DAYS}
        record(Action.RUNTIMES_COLLECTED, actor=by, via=via, details=details)
    return deleted


def collect_garbage(*, by: Any, via: Via) -> list[int]:
    """The beat's GC now (``runtimes.cleanup.collect_garbage``: unused runtimes, then orphaned folders);
    returns the ids it deleted."""
    candidates = set(Runtime.objects.unused_since(gc_cutoff()).values_list("pk", flat=True))
    cleanup.collect_garbage()
    deleted = sorted(candidates - set(Runtime.objects.filter(pk__in=candidates).values_list("pk", flat=True)))
    details = {"deleted": deleted, "unused_days": settings.PYRUN_RUNTIME_GC_DAYS, "scope": "all"}
    record(Action.RUNTIMES_COLLECTED, actor=by, via=via, details=details)
    return deleted
