"""The format in which the in-job agent reports task events to the runner, and its validation.

The runner listens on a Unix stream socket; its path is in the job's ``PYRUN_AGENT_SOCKET``. Every process of
the job that has something to report (the script, Lithops worker processes, a Dask scheduler) connects once and
writes **lines**: each line is a JSON array of event objects (a batch), UTF-8, ending in ``\\n``. Nothing is
ever sent back. An event object::

    {"framework": "lithops" | "dask",   # also read as "fw" (slower: item by item)
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
from typing import Annotated, Any, Literal

import msgspec
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

_Time = Annotated[float, msgspec.Meta(ge=0)]  # msgspec refuses NaN, infinities and booleans for a float
_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_Figure = None | bool | _Int64 | float | Annotated[str, msgspec.Meta(max_length=200)]
_Figures = Annotated[dict[Annotated[str, msgspec.Meta(max_length=64)], _Figure], msgspec.Meta(max_length=MAX_FIGURES)]


class Event(msgspec.Struct, kw_only=True, gc=False):
    """An event as the runner keeps it: checked, cut to the column sizes, then given its ``seq`` and (when the
    framework named none) a ``lane`` by the ingest, and published as it is encoded (the fields of ``task_dict``).

    A struct rather than a dict: a well-formed line is decoded and checked in one pass in C (``decode_line``),
    several times faster than JSON into dicts checked in Python, at 50k+ events a second. Not tracked by the
    garbage collector (``gc=False``): it holds no container that could close a cycle."""

    framework: Literal[tuple(sorted(_FRAMEWORKS))]  # type: ignore[valid-type]
    group: Annotated[str, msgspec.Meta(max_length=200)] = ""
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    phase: Literal[tuple(sorted(_PHASES))]  # type: ignore[valid-type]
    status: Literal[tuple(sorted(_STATUSES))]  # type: ignore[valid-type]
    lane: Annotated[str, msgspec.Meta(max_length=200)] = ""
    start: _Time
    end: _Time | None = None
    error: Annotated[str, msgspec.Meta(max_length=MAX_ERROR_CHARS)] = ""
    figures: _Figures = msgspec.field(default_factory=dict)
    seq: int = 0  # the ingest's number; whatever a line says is overwritten


_decode_batch = msgspec.json.Decoder(list[Event]).decode
encode_events = msgspec.json.Encoder().encode  # a list of events as the websocket and the tasks API show them


def _time(value: Any) -> float | None:
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        value = float(value)
    return value if 0 <= value < math.inf else None  # also refuses NaN


def _figures(value: Any) -> dict[str, Any]:
    if type(value) is not dict or not value:
        return {}
    kept: dict[str, Any] = {}
    for name, item in value.items():
        if len(kept) >= MAX_FIGURES:
            break
        if not isinstance(name, str):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            continue
        if isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            continue
        if item is None or isinstance(item, (bool, int, float)) or (isinstance(item, str) and len(item) <= 200):
            kept[name[:64]] = item
    return kept


def parse_event(raw: Any) -> Event | None:
    """One item of a batch that did not decode as it stands (a field too long, a wrong type, a bad event among
    good ones), or None when it is not an event: what can be kept is kept, cut to size."""
    if type(raw) is not dict:
        return None
    get = raw.get
    framework = get("framework", get("fw"))
    phase, status, key = get("phase"), get("status"), get("key")
    if framework not in _FRAMEWORKS or phase not in _PHASES or status not in _STATUSES:
        return None
    if type(key) is not str or not key:
        return None
    start = _time(get("start"))
    if start is None:
        return None
    group, lane, error = get("group", ""), get("lane", ""), get("error", "")
    return Event(
        framework=framework,
        group=group[:200] if type(group) is str else "",
        key=key[:300],
        phase=phase,
        status=status,
        lane=lane[:200] if type(lane) is str else "",
        start=start,
        end=_time(get("end")),
        error=error[:MAX_ERROR_CHARS] if type(error) is str else "",
        figures=_figures(get("figures")),
    )


def _settle_ends(events: list[Event]) -> list[Event]:
    for event in events:
        if event.status == RUNNING:
            event.end = None
        elif event.end is None or event.end < event.start:
            event.end = event.start  # clocks of different processes: never a bar of negative length
    return events


_JSON_NUL, _JSON_REPLACEMENT = b"\\u0000", b"\\ufffd"


def without_nul(line: bytes) -> bytes:
    """``line`` with every NUL a U+FFFD: PostgreSQL text holds no NUL, and one would fail the whole flush. JSON
    can only write it escaped."""
    return line.replace(_JSON_NUL, _JSON_REPLACEMENT) if _JSON_NUL in line else line


def decode_items(line: bytes) -> tuple[list[Event], int]:
    """The events of a line (NUL-free, see :func:`without_nul`) read item by item through :func:`parse_event`, and
    how many items were rejected: the path of any line the one-pass decoder refuses."""
    try:
        batch = orjson.loads(line)
    except orjson.JSONDecodeError:
        return [], 1
    if not isinstance(batch, list):
        batch = [batch]
    events = [event for event in map(parse_event, batch) if event is not None]
    return _settle_ends(events), len(batch) - len(events)


def decode_line(line: bytes) -> tuple[list[Event], int]:
    """The events of one line and how many of its items were rejected. A well-formed batch from our agent is
    decoded and checked in one pass; anything else goes through :func:`decode_items`, to the same result."""
    line = without_nul(line)
    try:
        events = _decode_batch(line)
    except msgspec.DecodeError:
        return decode_items(line)
    return _settle_ends(events), 0


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
