"""The format in which the in-job agent reports task events to the runner, and its validation.

The runner listens on a Unix stream socket; its path is in the job's ``PYRUN_AGENT_SOCKET``. Every process of
the job that has something to report (the script, Lithops worker processes, a Dask scheduler) connects once and
writes **lines**: each line is a JSON array of event objects (a batch), UTF-8, ending in ``\\n``. Nothing is
ever sent back. An event object::

    {"fw": "lithops" | "dask",
     "group": "<lithops executor id>/<job id, e.g. M000>" | "<dask key prefix>",
     "key": "<group>/<call id>" | "<dask key>",
     "phase": "task" | "compute" | "transfer" | "disk-read" | "disk-write",
     "status": "running" | "finished" | "failed",
     "lane": "pid 1234" | "tcp://127.0.0.1:40123 #2" | "",   # "" = the framework names no worker: packed
     "start": 1764000000.123,          # epoch seconds
     "end": 1764000000.456 | null,     # null while running
     "error": "ZeroDivisionError: division by zero" | "",
     "figures": {...}}                 # framework numbers (JSON scalars), kept as they come

A task's output (what a Lithops call printed; rare, and big next to an event) comes on a line of its own, a JSON
object rather than an array, so the events' path never looks at it::

    {"output": {"key": "<the task's key>", "text": "hello\\n", "cut": false}}   # cut: the agent kept the head only

The agent never raises into user code: when the socket is missing or the runner is gone, events are dropped.
The runner trusts nothing in a line (it comes from user code): a malformed line or event is counted and skipped,
strings are cut to the column sizes, and ``figures`` is kept only as a small flat object.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from monitoring.models import Framework, Phase, TaskStatus

SOCKET_ENV = "PYRUN_AGENT_SOCKET"
MAX_LINE_BYTES = 8 * 1024**2  # one batch; a longer line is dropped whole
MAX_FIGURES = 32
MAX_ERROR_CHARS = 4000

_FRAMEWORKS = frozenset(Framework.values)
_PHASES = frozenset(Phase.values)
_STATUSES = frozenset(TaskStatus.values) - {TaskStatus.LOST.value}  # only the runner decides a task is lost
RUNNING = TaskStatus.RUNNING.value


# An event as the runner keeps it: the keys below (``fw`` becomes ``framework``), values checked and cut to size.
# A dict rather than a class: the ingest adds ``seq`` and ``lane`` and publishes this very object, one allocation
# per event at 50k events/s.
Event = dict[str, Any]
EVENT_KEYS = ("framework", "group", "key", "phase", "status", "lane", "start", "end", "error", "figures")


def _time(value: Any) -> float | None:
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        value = float(value)
    return value if 0 <= value < math.inf else None  # also refuses NaN


def _figures(value: Any) -> dict[str, Any]:
    if type(value) is not dict or not value:
        return {}
    # The agent's own figures (short names, finite numbers) need no cleaning: checked with a plain loop, the
    # fastest way in CPython (this runs for every event).
    if len(value) <= MAX_FIGURES:
        for name, item in value.items():
            kind = type(item)
            if type(name) is not str or len(name) > 64:
                break
            if kind is float:
                if not -math.inf < item < math.inf:
                    break
            elif item is not None and kind is not int and kind is not bool:
                break
        else:
            return value
    kept: dict[str, Any] = {}
    for name, item in value.items():
        if len(kept) >= MAX_FIGURES:
            break
        if not isinstance(name, str):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            continue
        if item is None or isinstance(item, (bool, int, float)) or (isinstance(item, str) and len(item) <= 200):
            kept[name[:64]] = item
    return kept


def parse_event(raw: Any) -> Event | None:
    """One event of a batch, or None when it is not one. This runs for every event of every job, so the
    common case (a well-formed event from our agent) takes the shortest path."""
    if type(raw) is not dict:
        return None
    get = raw.get
    framework, phase, status, key = get("fw"), get("phase"), get("status"), get("key")
    if framework not in _FRAMEWORKS or phase not in _PHASES or status not in _STATUSES:
        return None
    if type(key) is not str or not key:
        return None
    start = _time(get("start"))
    if start is None:
        return None
    end = None
    if status != RUNNING:
        end = _time(get("end"))
        if end is None or end < start:
            end = start  # clocks of different processes: never a bar of negative length
    group, lane, error = get("group", ""), get("lane", ""), get("error", "")
    return {
        "framework": framework,
        "group": group[:200] if type(group) is str else "",
        "key": key[:300],
        "phase": phase,
        "status": status,
        "lane": lane[:200] if type(lane) is str else "",
        "start": start,
        "end": end,
        "error": error[:MAX_ERROR_CHARS] if type(error) is str else "",
        "figures": _figures(get("figures")),
    }


def parse_line(line: bytes) -> tuple[list[Event], int]:
    """The events of one line and how many of its items were rejected."""
    try:
        batch = orjson.loads(line)  # several times json.loads: every event of every job passes here
    except orjson.JSONDecodeError:
        return [], 1
    if not isinstance(batch, list):
        batch = [batch]
    events = [event for event in map(parse_event, batch) if event is not None]
    return events, len(batch) - len(events)


# How a line holding a task's output starts (the agent writes compact JSON, this key first): one prefix test per line
# keeps output off the events' path.
OUTPUT_LINE_PREFIX = b'{"output":'


def parse_output(line: bytes) -> tuple[str, str, bool] | None:
    """A task's key, the text it printed and whether the agent cut it; None when the line is not one. The text is
    not cut to size here: the ingest applies its caps."""
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    output = item.get("output") if type(item) is dict else None
    if type(output) is not dict:
        return None
    key, text, cut = output.get("key"), output.get("text"), output.get("cut", False)
    if type(key) is not str or not key or len(key) > 300 or type(text) is not str:
        return None
    return key, text, cut is True
