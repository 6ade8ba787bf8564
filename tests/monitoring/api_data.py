"""Synthetic task events and resource samples for the monitoring read API tests, written as the runner does:
each task gets a ``running`` row, then (unless it still runs) its ``finished`` or ``failed`` row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Max

from jobs.models import Job
from monitoring.models import ResourceSample, TaskEvent
from tests.jobs.conftest import make_workspace
from tests.tenants import Tenants

T0 = 1_764_000_000.0  # epoch seconds of the synthetic jobs' first task


def make_job(t: Tenants, **fields: Any) -> Job:
    fields.setdefault("entrypoint", "main.py")
    fields.setdefault("backend", "lithops-localhost")
    return Job.objects.create(org=t.org, workspace=make_workspace(t), created_by=t.member, **fields)


def task(
    key: str,
    start: float,
    end: float | None,
    lane: str = "pid 1",
    status: str = "finished",
    *,
    group: str = "ex/M000",
    phase: str = "task",
    framework: str = "lithops",
    error: str = "",
    figures: dict | None = None,
    running_row: bool = True,
) -> list[dict[str, Any]]:
    """The rows of one task, times relative to T0; ``end=None`` is a task still running."""
    base = {"framework": framework, "group": group, "key": key, "phase": phase, "lane": lane, "start": T0 + start}
    rows = [{**base, "status": "running", "end": None}] if running_row or end is None else []
    if end is not None:
        rows.append({**base, "status": status, "end": T0 + end, "error": error, "figures": figures or {}})
    return rows


def store(job: Job, *tasks: list[dict[str, Any]], interleave: bool = True) -> list[TaskEvent]:
    """Save the rows with the job's next seqs: all running rows first, then the ending rows (as events arrive), unless
    ``interleave`` is False (each task's rows together)."""
    rows = [row for rows in tasks for row in rows]
    if interleave:
        rows = [row for row in rows if row["status"] == "running"] + [r for r in rows if r["status"] != "running"]
    first = (TaskEvent.objects.filter(job=job).aggregate(last=Max("seq"))["last"] or 0) + 1
    events = [TaskEvent(job=job, seq=seq, **row) for seq, row in enumerate(rows, start=first)]
    return TaskEvent.objects.bulk_create(events, batch_size=5000)


FAST_COLUMNS = ("seq", "framework", "group", "key", "phase", "status", "lane", "start", "end")


def insert_many(job: Job, rows: Iterable[tuple]) -> None:
    """Rows given as tuples of ``FAST_COLUMNS`` (absolute times), for 100k-row data sets: bulk_create needs
    seconds for them (SQLite caps an INSERT at 999 parameters, so 83 rows each), executemany a fraction."""
    columns = ("job_id", *FAST_COLUMNS, "error", "figures")
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {TaskEvent._meta.db_table} ({quoted}) VALUES ({placeholders})"  # noqa: S608 - model names
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(job.pk, *row, "", "{}") for row in rows])


def store_samples(job: Job, *samples: dict[str, Any]) -> None:
    defaults = {"cpu_percent": 0.0, "rss_bytes": 0, "processes": 1, "read_bytes": 0, "write_bytes": 0,
                "net_sent_bytes": 0, "net_recv_bytes": 0}  # fmt: skip
    ResourceSample.objects.bulk_create(
        [ResourceSample(job=job, seq=seq, **{**defaults, **s}) for seq, s in enumerate(samples, start=1)],
        batch_size=5000,
    )
