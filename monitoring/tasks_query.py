"""Which task event rows to read: the filtered list of the tasks API, and each task's current row.

A task (one key and phase) has a ``running`` row and, once it ends, a ``finished`` or ``failed`` row. Counting
or drawing tasks must use one row per task: the ending row when there is one, else the running row.

Monitoring sits below jobs (docs/architecture.md): here and in the modules built on this one a job is its id, plus
the moments a function needs, passed by the jobs app.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from monitoring.models import Phase, TaskEvent, TaskOutput, TaskStatus

# The phases that are a whole task (a Lithops call, a Dask compute); transfers and disk phases only add bars.
PRIMARY_PHASES = (Phase.TASK.value, Phase.COMPUTE.value)

ORDERINGS = {
    "seq": ["seq"],
    "-seq": ["-seq"],
    "start": ["start", "seq"],
    "-start": ["-start", "-seq"],
    # Running rows have no duration: they sort last either way.
    "duration": [F("duration").asc(nulls_last=True), "seq"],
    "-duration": [F("duration").desc(nulls_last=True), "-seq"],
}


def open_seqs(job_id: int) -> QuerySet:
    """The seq of the last running row of each task that has no ending row: a subquery, grouped over the job's
    rows by the database (events are written too fast for a second index, on key, to be kept)."""
    return (
        TaskEvent.objects.filter(job_id=job_id)
        .order_by()
        .values("key", "phase")
        .annotate(ended=Count("id", filter=~Q(status=TaskStatus.RUNNING)), last=Max("seq"))
        .filter(ended=0)
        .values("last")
    )


def current_rows(job_id: int) -> QuerySet[TaskEvent]:
    """One row per task: its ending row, or its running row while it runs."""
    return TaskEvent.objects.filter(job_id=job_id).filter(~Q(status=TaskStatus.RUNNING) | Q(seq__in=open_seqs(job_id)))


def ended_rows(job_id: int) -> QuerySet[TaskEvent]:
    """The ending rows (a task has at most one): the tasks that ended, without grouping anything."""
    return TaskEvent.objects.filter(job_id=job_id).exclude(status=TaskStatus.RUNNING)


def running_rows(job_id: int) -> QuerySet[TaskEvent]:
    """The running row of each task still running (usually few, even in a job of 100k tasks)."""
    return TaskEvent.objects.filter(job_id=job_id, seq__in=open_seqs(job_id))


def task_events(job_id: int, filters: dict[str, Any]) -> QuerySet[TaskEvent]:
    """The rows of the tasks API: ``filters`` are the validated query parameters (see ``TaskQuerySerializer``)."""
    queryset = TaskEvent.objects.filter(job_id=job_id) if filters.get("events") else current_rows(job_id)
    exact = {
        name: filters[name] for name in ("status", "phase", "group", "lane", "key", "framework") if filters.get(name)
    }
    queryset = queryset.filter(**exact)
    if filters.get("after") is not None:
        queryset = queryset.filter(seq__gt=filters["after"])
    # What the task printed: one indexed lookup per row of the page (few tasks print; none of it is on the rows).
    printed = TaskOutput.objects.filter(job_id=job_id, key=OuterRef("key")).values("text")[:1]
    queryset = queryset.annotate(
        duration=F("end") - F("start"), output=Coalesce(Subquery(printed), Value(""), output_field=TextField())
    )
    return queryset.order_by(*ORDERINGS[filters.get("ordering") or "seq"])


def open_end(finished_at: datetime | None, now: datetime | None = None) -> float:
    """Where a task still running is drawn to: the job's end (``finished_at``) when it has ended (its tasks ended
    with it), else now."""
    moment = finished_at or now or timezone.now()
    return moment.timestamp()


def task_counts(job_id: int) -> dict[str, int]:
    """The job's tasks (task and compute phases) and how many of them failed or were lost: one aggregate, read once
    when the job's events are all written (the jobs app keeps the figures on the job for its lists)."""
    return (
        current_rows(job_id)
        .filter(phase__in=PRIMARY_PHASES)
        .aggregate(
            total=Count("id"),
            failed=Count("id", filter=Q(status=TaskStatus.FAILED)),
            lost=Count("id", filter=Q(status=TaskStatus.LOST)),
        )
    )
