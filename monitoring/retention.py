"""How long a run's monitoring record is kept: task events and resource samples of jobs that ended more than
``PYRUN_MONITORING_RETENTION_DAYS`` ago are deleted (the job, its log and its totals stay).

A fan-out of 100k tasks leaves 200k event rows, so the monitoring tables are what grows fastest. Deleting in
batches of ids keeps each transaction (and the locks and WAL it holds) small on a busy database.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from monitoring.models import ResourceSample, TaskEvent, TaskOutput

BATCH = 20_000


def prune(days: int | None = None) -> dict[str, int]:
    """Delete the events and samples of jobs that ended over ``days`` ago (default: the setting; 0 keeps
    everything); returns how many rows of each went."""
    days = settings.PYRUN_MONITORING_RETENTION_DAYS if days is None else days
    if days <= 0:
        return {"task_events": 0, "samples": 0, "task_outputs": 0}
    cutoff = timezone.now() - timedelta(days=days)
    return {
        "task_events": _delete_in_batches(TaskEvent, cutoff),
        "samples": _delete_in_batches(ResourceSample, cutoff),
        "task_outputs": _delete_in_batches(TaskOutput, cutoff),
    }


def _delete_in_batches(model, cutoff) -> int:
    deleted = 0
    rows = model.objects.filter(job__finished_at__lt=cutoff)
    while ids := list(rows.values_list("id", flat=True)[:BATCH]):
        deleted += model.objects.filter(id__in=ids).delete()[0]
    return deleted
