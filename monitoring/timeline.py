"""The Gantt chart of a job, downsampled on the server so its size depends on the screen, not on the task count.

Rule: the window [start, end] is ``width`` pixels wide. Each lane is a row; with more lanes than ``rows``, runs of
neighbouring lanes share a row. Every task is placed on pixels [round(x_start), max(round(x_start) + 1,
round(x_end))) of its row (at least one pixel wide). Walking a row in start order, a task joins the row's current
bar (its ``count`` grows, its end extends) when it starts on a pixel the bar already covers, or when it or the
bar's last task is too thin to show its own edges (under ``MIN_BAR_PX``) and the gap between them is under a
pixel; otherwise it starts a new bar. So wide tasks keep their own bars unless they overlap on screen, and a run
of thin tasks is one bar. Bars of a row cover disjoint pixel ranges of at least one pixel: at most ``width`` bars
per row, at most ``width * rows`` in all, whatever the task count. When the window holds few tasks (at most
``EXACT_MAX_BARS`` and within that bound) nothing is merged: one bar per task, even where they share pixels
(``exact``).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q

from monitoring.models import TaskEvent, TaskStatus
from monitoring.tasks_query import PRIMARY_PHASES, ended_rows, open_end, running_rows

DEFAULT_WIDTH = 1000
MAX_WIDTH = 4000
DEFAULT_ROWS = 200
MAX_ROWS = 1000
EXACT_MAX_BARS = 5000  # a zoomed-in window up to this many tasks is sent task by task
MIN_SPAN = 1e-3  # seconds: a window of one instant still has a width
MIN_BAR_PX = 3  # narrower, a bar shows no gap or border between it and its neighbour: thin tasks are merged

# A merged bar takes the colour of its most notable task.
_NOTABLE = {
    TaskStatus.FAILED.value: 0, TaskStatus.LOST.value: 1, TaskStatus.RUNNING.value: 2, TaskStatus.FINISHED.value: 3
}  # fmt: skip


def lane_order(lane: str) -> list[tuple[int, Any]]:
    """Natural order, so ``slot 2`` comes before ``slot 10``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", lane) if part]


@dataclass(slots=True)
class _Bar:
    row: int
    px_end: int
    lane: str | None
    start: float
    end: float
    key: str | None
    group: str | None
    phase: str | None
    seq: int | None
    status: str
    narrow: bool  # its last task is thinner than MIN_BAR_PX
    statuses: Counter = field(default_factory=Counter)

    def absorb(
        self, lane: str, start: float, end: float, group: str, phase: str, status: str, px_end: int, narrow: bool
    ) -> None:
        self.narrow = narrow
        self.px_end = max(self.px_end, px_end)
        self.end = max(self.end, end)
        self.key = self.seq = None
        if self.lane != lane:
            self.lane = None
        if self.group != group:
            self.group = None
        if self.phase != phase:
            self.phase = None
        if _NOTABLE[status] < _NOTABLE[self.status]:
            self.status = status
        self.statuses[status] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row, "lane": self.lane, "start": self.start, "end": self.end,
            "count": sum(self.statuses.values()), "status": self.status, "statuses": dict(self.statuses),
            "key": self.key, "group": self.group, "phase": self.phase, "seq": self.seq,
        }  # fmt: skip


def _rows(lanes: list[str], max_rows: int) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The row of each lane: contiguous runs of lanes (sizes differing by at most one) when they are too many."""
    row_of = {lane: i * max_rows // len(lanes) if len(lanes) > max_rows else i for i, lane in enumerate(lanes)}
    members: dict[int, list[str]] = {}
    for lane, row in row_of.items():
        members.setdefault(row, []).append(lane)
    rows = []
    for index, names in sorted(members.items()):
        label = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]} ({len(names)} lanes)"
        rows.append({"index": index, "label": label, "lanes": names})
    return row_of, rows


_FIELDS = ("lane", "start", "end", "status", "key", "group", "phase", "seq")


def _default_window(job_id: int, began_at: datetime, running: list[tuple], drawn_end: float) -> tuple[float, float]:
    span = TaskEvent.objects.filter(job_id=job_id).aggregate(
        first=Min("start"), last_start=Max("start"), last_end=Max("end")
    )
    if span["first"] is None:
        return began_at.timestamp(), drawn_end
    end = max(span["last_start"], span["last_end"] or span["last_start"])
    return span["first"], max(end, drawn_end) if running else end


def _groups(job_id: int, running: list[tuple], counted: Counter) -> list[dict[str, Any]]:
    ended_statuses = (TaskStatus.FINISHED, TaskStatus.FAILED, TaskStatus.LOST)
    statuses = {status.value: Count("id", filter=Q(status=status)) for status in ended_statuses}
    ended = (
        ended_rows(job_id)
        .filter(phase__in=PRIMARY_PHASES)
        .order_by()
        .values("group", "framework")
        .annotate(tasks=Count("id"), start=Min("start"), end=Max("end"), **statuses)
    )
    groups = {row["group"]: {**row, "running": 0} for row in ended}
    for _, start, _, _, _, group, phase, _, framework in running:
        if phase not in PRIMARY_PHASES:
            continue
        entry = groups.setdefault(group, {"group": group, "framework": framework, "tasks": 0, "start": start,
                                          "end": None, "running": 0, **dict.fromkeys(statuses, 0)})  # fmt: skip
        entry["tasks"] += 1
        entry["running"] += 1
        entry["start"] = min(entry["start"], start)
    ordered = sorted(groups.values(), key=lambda entry: (entry["start"], entry["group"]))
    return [{**entry, "in_window": counted.get(entry["group"], 0)} for entry in ordered]


def build_timeline(
    job_id: int,
    began_at: datetime,
    finished_at: datetime | None,
    start: float | None = None,
    end: float | None = None,
    width: int = DEFAULT_WIDTH,
    rows: int = DEFAULT_ROWS,
    group: str | None = None,
    phase: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Gantt payload of job ``job_id`` for the window [start, end] (default: the whole job) ``width`` pixels
    wide. ``began_at`` (when the job began running, or was created) starts the default window of a job without
    tasks; ``finished_at`` (its end, None while it runs) is where tasks still running are drawn to."""
    drawn_end = open_end(finished_at, now)
    # Tasks still running are few (at most the concurrency, or what a lost job left behind): read them once.
    running = list(running_rows(job_id).order_by("start", "seq").values_list(*_FIELDS, "framework"))
    if start is None or end is None:
        first, last = _default_window(job_id, began_at, running, drawn_end)
        start = first if start is None else start
        end = last if end is None else end
    if end - start < MIN_SPAN:
        end = start + MIN_SPAN

    ended = ended_rows(job_id).filter(start__lte=end, end__gte=start)
    if group:
        ended = ended.filter(group=group)
    if phase:
        ended = ended.filter(phase=phase)
    # Plain tuples in start order: no model instances for 100k rows, and each row's tasks come sorted.
    found = ended.order_by("start", "seq").values_list(*_FIELDS)
    still = [row[:-1] for row in running if row[1] <= end and max(row[1], drawn_end) >= start
             and (not group or row[5] == group) and (not phase or row[6] == phase)]  # fmt: skip
    tasks = list(heapq.merge(found, still, key=lambda row: (row[1], row[7])) if still else found)
    # Rows come from every lane of the job (read after the tasks, so each task's lane is in it): zooming in
    # keeps each lane on its row.
    lanes = sorted(TaskEvent.objects.filter(job_id=job_id).order_by().values_list("lane", flat=True).distinct(),
                   key=lane_order)  # fmt: skip
    row_of, row_list = _rows(lanes, rows) if lanes else ({}, [])
    per_pixel = (end - start) / width
    thin = MIN_BAR_PX * per_pixel
    exact = len(tasks) <= min(EXACT_MAX_BARS, width * max(1, len(row_list)))
    bars: list[_Bar] = []
    current: dict[int, _Bar] = {}
    counted: Counter = Counter()
    for lane, t0, t1, status, key, task_group, task_phase, seq in tasks:
        if t1 is None:
            t1 = max(t0, drawn_end)
        counted[task_group] += 1
        row = row_of[lane]
        px_start = min(width - 1, math.floor((max(t0, start) - start) / per_pixel + 0.5))
        px_end = max(px_start + 1, math.floor((min(t1, end) - start) / per_pixel + 0.5))
        bar = current.get(row)
        narrow = min(t1, end) - max(t0, start) < thin
        if (
            not exact
            and bar is not None
            and (px_start < bar.px_end or ((narrow or bar.narrow) and t0 - bar.end < per_pixel))
        ):
            bar.absorb(lane, t0, t1, task_group, task_phase, status, px_end, narrow)
            continue
        bar = _Bar(row, px_end, lane, t0, t1, key, task_group, task_phase, seq, status, narrow, Counter({status: 1}))
        bars.append(bar)
        current[row] = bar
    bars.sort(key=lambda bar: (bar.row, bar.start))
    payload_bars = [bar.as_dict() for bar in bars]
    return {
        "window": {"start": start, "end": end, "width": width, "seconds_per_pixel": per_pixel},
        "now": drawn_end,
        "exact": all(bar["count"] == 1 for bar in payload_bars),
        "tasks": sum(counted.values()),
        "lanes": len(lanes),
        "rows": row_list,
        "groups": _groups(job_id, running, counted),
        "bars": payload_bars,
    }
