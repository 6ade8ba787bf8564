"""How long a run's monitoring record is kept: task events and resource samples of jobs that ended more than
``PYRUN_MONITORING_RETENTION_DAYS`` ago are deleted (the job, its log and its totals stay).

A fan-out of 100k tasks leaves 200k event rows, so the monitoring tables are what grows fastest. Deleting in
batches of ids keeps each transaction (and the locks and WAL it holds) small on a busy database.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from monitoring.models import ResourceSample, TaskEvent, TaskOutput

BATCH = 20_000


def prune(days: int | None = None) -> dict[str, int]:
    """Delete the events and samples of jobs that ended over ``days`` ago (default: the setting; 0 keeps
    everything), and the events whose job is gone; returns how many rows of each went."""
    days = settings.PYRUN_MONITORING_RETENTION_DAYS if days is None else days
    pruned = {"task_events": 0, "samples": 0, "task_outputs": 0}
    if days > 0:
        cutoff = timezone.now() - timedelta(days=days)
        pruned = {
            "task_events": _delete_in_batches(TaskEvent.objects.filter(job__finished_at__lt=cutoff)),
            "samples": _delete_in_batches(ResourceSample.objects.filter(job__finished_at__lt=cutoff)),
            "task_outputs": _delete_in_batches(TaskOutput.objects.filter(job__finished_at__lt=cutoff)),
        }
    # TaskEvent.job has no constraint in the database (see the model): an ingest that flushed after its job was
    # deleted left rows that belong to nothing.
    jobs = TaskEvent.job.field.related_model.objects  # jobs.Job: monitoring imports no app above it
    orphans = TaskEvent.objects.filter(~Exists(jobs.filter(pk=OuterRef("job_id"))))
    pruned["orphaned_task_events"] = _delete_in_batches(orphans)
    return pruned


def _delete_in_batches(rows: QuerySet) -> int:
    deleted = 0
    rows = rows.order_by()  # the default ordering joins the job, which would hide the rows whose job is gone
    while ids := list(rows.values_list("id", flat=True)[:BATCH]):
        deleted += rows.model.objects.filter(id__in=ids).delete()[0]
    return deleted
