"""A job's summary figures: its tasks (counts, durations, concurrency, stragglers, cold starts, groups) and the
series of its resource samples.

Tasks are counted once each (their current row, see ``tasks_query``) and only in the phases that are a whole task
(``task`` for Lithops, ``compute`` for Dask): a Dask transfer is part of its task, not another one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from monitoring.models import Framework, ResourceSample, TaskStatus
from monitoring.tasks_query import PRIMARY_PHASES, current_rows, ended_rows, open_end

MAX_POINTS = 1000
MAX_STRAGGLERS = 20
STRAGGLER_FACTOR = 3.0
COLD_START_FIGURE = "worker_cold_start"  # Lithops' future.stats flag
_SAMPLE_FIELDS = ("t", "cpu_percent", "rss_bytes", "processes", "read_bytes", "write_bytes", "net_sent_bytes",
                  "net_recv_bytes")  # fmt: skip


def percentile(ordered: list[float], q: float) -> float | None:
    """The q-th percentile (0 to 100) of sorted values, interpolated linearly between closest ranks (numpy's
    default), so p50 of an even count is the mean of the two middle values."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def peak_concurrency(intervals: list[tuple[float, float]]) -> tuple[int, float | None]:
    """The most intervals open at once and the first moment it happens. Touching intervals do not overlap (a
    task that starts the instant another ends runs after it), so at equal times ends are counted first."""
    points = sorted([(end, -1) for _, end in intervals] + [(start, 1) for start, _ in intervals])
    peak, at, open_now = 0, None, 0
    for moment, change in points:
        open_now += change
        if open_now > peak:
            peak, at = open_now, moment
    return peak, at


# The statistics of a job's finished task durations, each of the sorted (non-empty) values; the API lists these.
DURATION_STATS: dict[str, Callable[[list[float]], float | None]] = {
    "min": lambda ordered: ordered[0],
    "p50": lambda ordered: percentile(ordered, 50),
    "p95": lambda ordered: percentile(ordered, 95),
    "max": lambda ordered: ordered[-1],
    "mean": lambda ordered: sum(ordered) / len(ordered),
}


def _durations(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    stats = {name: stat(ordered) if ordered else None for name, stat in DURATION_STATS.items()}
    return {"count": len(ordered), **stats}


def task_metrics(job_id: int, finished_at: datetime | None, now: datetime | None = None) -> dict[str, Any]:
    """The task figures of job ``job_id``; tasks still running count up to ``finished_at`` (the job's end), or
    ``now`` while the job runs."""
    tasks = current_rows(job_id).filter(phase__in=PRIMARY_PHASES)
    rows = list(tasks.order_by().values_list("key", "group", "framework", "status", "lane", "start", "end"))
    drawn_end = open_end(finished_at, now)
    statuses = dict.fromkeys(TaskStatus.values, 0)
    finished: list[tuple[float, str, str, str, float]] = []  # (duration, key, group, lane, start)
    intervals: list[tuple[float, float]] = []
    groups: dict[str, dict[str, Any]] = {}
    for key, group, framework, status, lane, start, end in rows:
        statuses[status] += 1
        if status == TaskStatus.FINISHED:
            finished.append((end - start, key, group, lane, start))
        intervals.append((start, max(start, drawn_end) if end is None else end))
        entry = groups.get(group)
        if entry is None:
            entry = groups[group] = {"group": group, "framework": framework, "tasks": 0, "start": start, "end": None,
                                     **dict.fromkeys(TaskStatus.values, 0)}  # fmt: skip
        entry["tasks"] += 1
        entry[status] += 1
        entry["start"] = min(entry["start"], start)
        if end is not None:
            entry["end"] = end if entry["end"] is None else max(entry["end"], end)

    durations = _durations([row[0] for row in finished])
    peak, peak_at = peak_concurrency(intervals)
    # A straggler is far off the typical task and among the slowest: both conditions, so a job whose tasks all
    # take about as long has none, and a job with a long tail lists only the tail's end.
    threshold = max(STRAGGLER_FACTOR * durations["p50"], durations["p95"]) if finished else None
    stragglers = sorted((row for row in finished if row[0] > threshold), reverse=True) if finished else []
    cold = f"figures__{COLD_START_FIGURE}"
    cold_starts = (
        ended_rows(job_id)
        .filter(phase__in=PRIMARY_PHASES, framework=Framework.LITHOPS)
        .aggregate(
            count=Count("id", filter=Q(**{cold: True})),
            reported=Count("id", filter=Q(figures__has_key=COLD_START_FIGURE)),
        )
    )
    return {
        "tasks": len(rows),
        "statuses": statuses,
        "durations": durations,
        "peak_concurrency": peak,
        "peak_at": peak_at,
        "stragglers": {
            "rule": f"finished tasks slower than {STRAGGLER_FACTOR:g}x the median and than p95",
            "threshold": threshold,
            "count": len(stragglers),
            "tasks": [
                {"key": key, "group": group, "lane": lane, "start": start, "duration": duration}
                for duration, key, group, lane, start in stragglers[:MAX_STRAGGLERS]
            ],
        },
        "cold_starts": cold_starts,
        "groups": sorted(groups.values(), key=lambda entry: (entry["start"], entry["group"])),
    }


def _rate(counter_now: int, counter_before: int, seconds: float) -> float | None:
    return max(0, counter_now - counter_before) / seconds if seconds > 0 else None


def sample_series(job_id: int, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """The resource samples, at most ``max_points`` of them: consecutive samples are grouped into equal buckets
    (CPU averaged, so the area is the CPU time; memory and processes at their peak, so no spike disappears).
    Rates come from the cumulative counters at the last sample of a bucket and of the one before: exact averages
    over the bucket. The first point has no rates when it is a single sample (nothing before it)."""
    samples = list(ResourceSample.objects.filter(job_id=job_id).order_by("seq").values_list(*_SAMPLE_FIELDS))
    size = max(1, math.ceil(len(samples) / max_points))
    points = []
    for first in range(0, len(samples), size):
        bucket = samples[first : first + size]
        last = bucket[-1]
        before = samples[first - 1] if first else bucket[0]
        seconds = last[0] - before[0]
        points.append({
            "t": last[0],
            "cpu_percent": sum(s[1] for s in bucket) / len(bucket),
            "rss_bytes": max(s[2] for s in bucket),
            "processes": max(s[3] for s in bucket),
            "read_bytes_per_s": _rate(last[4], before[4], seconds),
            "write_bytes_per_s": _rate(last[5], before[5], seconds),
            "net_sent_bytes_per_s": _rate(last[6], before[6], seconds),
            "net_recv_bytes_per_s": _rate(last[7], before[7], seconds),
        })  # fmt: skip
    return {
        "samples": len(samples),
        "samples_per_point": size,
        "peak_rss_bytes": max((s[2] for s in samples), default=None),
        "peak_cpu_percent": max((s[1] for s in samples), default=None),
        "points": points,
    }


def build_metrics(
    job_id: int, finished_at: datetime | None, max_points: int = MAX_POINTS, now: datetime | None = None
) -> dict[str, Any]:
    return {**task_metrics(job_id, finished_at, now), "resources": sample_series(job_id, max_points)}
