"""The runner's end of the agent socket: task events in, ``TaskEvent`` rows and live messages out.

A reader thread accepts the agent's connections (every process of the job that reports opens one) and parses
their lines (see :mod:`monitoring.wire`) into a queue. A flusher thread (:meth:`EventIngest.start_flushing`; or
the caller, through :meth:`EventIngest.due` and :meth:`EventIngest.flush`) writes them: the waiting events get
their seq, a lane when the framework named none, and are written with one bulk insert and published with one
message.

Why a thread of its own rather than the runner's loop: the loop looks at its work every ``LOOP_SECONDS``, and at
50,000 events a second that pause made each flush bigger, so slower, so the next one bigger still; events sat
in the queue for a flush and a pause (about 100 ms at the 95th percentile). The flusher starts the next flush
as soon as one is due.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import selectors
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import orjson
from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import F, Max

from monitoring import live
from monitoring.lanes import SlotPacker
from monitoring.models import TaskEvent, TaskStatus
from monitoring.task_output import TaskOutputs
from monitoring.tasks_query import running_rows
from monitoring.wire import MAX_LINE_BYTES, OUTPUT_LINE_PREFIX, Event, decode_line, encode_events

logger = logging.getLogger(__name__)

# An event reaches the database and the websocket group at most this much later ... (25 ms: p95 emit -> websocket
# at 50k events/s 116-125 ms; 15 ms: 97-109 ms, and no less throughput; 10 ms: no better, docs/performance.md)
FLUSH_SECONDS = 0.015
FLUSH_EVENTS = 5000  # ... or as soon as this many wait
BULK_BATCH = 2000
MAX_WAITING = 500_000  # a runaway emitter must not eat the worker's memory: beyond this, events are dropped
READ_BYTES = 256 * 1024
SOCKET_NAME = "agent.sock"
TASK_LOST = "The task did not report its end before the job's processes ended (killed, out of memory, or stopped)."
TASK_END_NOT_KEPT = "The task's end is unknown: the job reached its limit of {cap:,} task events before it came."
CAP_NOTICE = (
    "[task events: the job reached its limit of {cap:,} task events; later ones are counted (task_events_dropped), "
    "not kept]"
)
RECORD_DROPPED_SECONDS = 1.0  # how often the job's count of dropped events is brought up to date while it runs


_COLUMNS = ("job_id", "seq", "framework", "group", "key", "phase", "status", "lane", "start", "end", "error", "figures")


def _insert(rows: list[tuple]) -> None:
    """Write rows (in ``_COLUMNS`` order, ``figures`` as JSON text) without model instances: ``bulk_create``
    builds an object per row and writes about 23k rows/s on SQLite here, far from the 50k events/s a big fan-out
    produces. PostgreSQL takes them by COPY, SQLite by one ``executemany`` per batch."""
    table = db.ops.quote_name(TaskEvent._meta.db_table)
    columns = ", ".join(db.ops.quote_name(c) for c in _COLUMNS)
    with transaction.atomic(), db.cursor() as cursor:
        if db.vendor == "postgresql":
            # Monitoring rows, not the job's state: a server crash may lose the last fraction of a second of them,
            # never corrupt anything, and the flusher no longer waits for the WAL to reach the disk at every flush.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # Only quoted names of our own model are formatted in; every value is a parameter.
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"  # noqa: S608
        for i in range(0, len(rows), BULK_BATCH):
            cursor.executemany(sql, rows[i : i + BULK_BATCH])


_heap_frozen = False


def _freeze_heap() -> None:
    """Move every object alive now (Django, the apps, the worker's own) out of the garbage collector's sight, once
    per process. At 50,000 events a second the ingest allocates a few dicts per event, which triggers collections;
    each full one walked that whole heap, about a third of the CPU spent parsing events (measured, see
    docs/performance.md). Those objects live as long as the process anyway; later ones are collected as before."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.freeze()


def socket_dir() -> Path:
    """A new private folder for one job's socket. Under /tmp because a Unix socket path is limited to 107
    bytes, which a data dir deep in a home folder can exceed on its own."""
    base = "/tmp" if os.path.isdir("/tmp") else None  # noqa: S108 (a 0700 folder of our own, made by mkdtemp)
    return Path(tempfile.mkdtemp(prefix="pyrun-agent-", dir=base))


class _Connection:
    __slots__ = ("buffer", "discarding", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.discarding = False  # inside a line longer than MAX_LINE_BYTES: skip to its end


class EventIngest:
    def __init__(self, job_id: int, directory: Path | None = None) -> None:
        self.job_id = job_id
        self.directory = directory or socket_dir()
        self.path = self.directory / SOCKET_NAME
        self.waiting: deque[Event] = deque()
        self.first_waiting_at: float | None = None
        self.rejected = 0
        self.dropped = 0  # events that found the queue full (MAX_WAITING)
        self.written = 0
        self.packer = SlotPacker()
        last = TaskEvent.objects.filter(job_id=job_id).aggregate(last=Max("seq"))["last"]
        self.next_seq = (last or 0) + 1
        # A runaway emitter must not fill the database either: past the cap, events are counted and dropped.
        self.cap = settings.PYRUN_MAX_TASK_EVENTS_PER_JOB
        self.accepted = self.next_seq - 1  # the job's events stored or queued
        self.over_cap = 0
        self._notices: deque[str] = deque()  # lines for the job's log, taken by the thread that writes it
        self.outputs = TaskOutputs(job_id)  # what its tasks printed (the log's lines: outputs.take_lines)
        self._recorded_dropped = 0  # what this ingest has added to Job.task_events_dropped
        self._recorded_at = 0.0
        self._selector = selectors.DefaultSelector()
        self._server: socket.socket | None = None
        self._connections: dict[int, _Connection] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._arrived = threading.Event()  # set by the reader when it queues events
        self._stop_flushing = threading.Event()
        self._flusher: threading.Thread | None = None
        self.flush_error: BaseException | None = None

    # --- Socket side (reader thread) ---------------------------------------------------------------------

    def start(self) -> EventIngest:
        _freeze_heap()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        server.listen(128)
        server.setblocking(False)
        self._server = server
        self._selector.register(server, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._serve, name=f"job-{self.job_id}-agent", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=1.0):
                if key.data == "wake":
                    continue
                if key.data is None:
                    self._accept()
                else:
                    self._read(key.data)
        # Stopping: the job's processes are gone, so whatever is still buffered in the connections is complete.
        for connection in list(self._connections.values()):
            with contextlib.suppress(OSError):
                connection.sock.setblocking(True)
                connection.sock.settimeout(0.5)
                while self._read(connection):
                    pass

    def _accept(self) -> None:
        assert self._server is not None
        with contextlib.suppress(BlockingIOError, OSError):
            sock, _ = self._server.accept()
            sock.setblocking(False)
            connection = _Connection(sock)
            self._connections[sock.fileno()] = connection
            self._selector.register(sock, selectors.EVENT_READ, connection)

    def _read(self, connection: _Connection) -> bool:
        """Read what is there; False once the connection is closed."""
        try:
            data = connection.sock.recv(READ_BYTES)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            data = b""
        if not data:
            self._drop_connection(connection)
            return False
        buffer = connection.buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", start)) != -1:
            if connection.discarding:
                connection.discarding = False
            elif end - start > MAX_LINE_BYTES:
                self.rejected += 1
            elif end > start:
                self._take(bytes(buffer[start:end]))
            start = end + 1
        del buffer[:start]
        if len(buffer) > MAX_LINE_BYTES:
            buffer.clear()
            connection.discarding = True
            self.rejected += 1
        return True

    def _drop_connection(self, connection: _Connection) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(connection.sock)
        self._connections.pop(connection.sock.fileno(), None)
        connection.sock.close()

    def _take(self, line: bytes) -> None:
        if line.startswith(OUTPUT_LINE_PREFIX):  # a task's output: rare, kept off the events' path
            if not self.outputs.take(line):
                self.rejected += 1
            self._arrived.set()
            return
        events, rejected = decode_line(line)
        self.rejected += rejected
        if not events:
            return
        over = self.accepted + len(events) - self.cap
        if over > 0:
            if not self.over_cap:
                self._notices.append(CAP_NOTICE.format(cap=self.cap))
            self.over_cap += min(over, len(events))
            events = events[: max(len(events) - over, 0)]
            self._arrived.set()  # the flusher brings the job's count up to date
            if not events:
                return
        room = MAX_WAITING - len(self.waiting)
        if room < len(events):
            self.dropped += len(events) - max(room, 0)
            events = events[: max(room, 0)]
        self.accepted += len(events)
        if self.first_waiting_at is None:
            self.first_waiting_at = time.monotonic()
        self.waiting.extend(events)
        self._arrived.set()

    def take_notices(self) -> list[str]:
        """Lines for the job's log (one when the cap is reached), each returned once. For the thread that writes
        the log, which alone numbers its chunks."""
        lines = []
        with contextlib.suppress(IndexError):
            while True:
                lines.append(self._notices.popleft())
        return lines

    # --- Database side (the flusher thread, or the owner's) ----------------------------------------------

    def start_flushing(self) -> EventIngest:
        """Flush from a thread of its own, each flush as soon as it is due; :meth:`close` stops it and flushes
        the rest in the caller's thread. A flush that fails stops it: :meth:`check` raises the error."""
        self._flusher = threading.Thread(target=self._flush_forever, name=f"job-{self.job_id}-events", daemon=True)
        self._flusher.start()
        return self

    def check(self) -> None:
        """Raise the error that stopped the flusher thread, if one did (in the owner's thread, which fails the
        job the way a failed write of its own would)."""
        if self.flush_error is not None:
            raise self.flush_error

    def _flush_forever(self) -> None:
        try:
            while not self._stop_flushing.is_set():
                if not self._arrived.wait(0.5):
                    continue
                first = self.first_waiting_at
                if first is not None and len(self.waiting) < FLUSH_EVENTS:
                    delay = first + FLUSH_SECONDS - time.monotonic()
                    if delay > 0 and self._stop_flushing.wait(delay):
                        break
                # Cleared before taking: events queued during the flush set it again for the next round.
                self._arrived.clear()
                self.flush()
        except BaseException as exc:  # handed to the owner's thread through check()
            self.flush_error = exc
            logger.exception("job %s: task events could not be written", self.job_id)
        finally:
            db.close()  # this thread's own connection

    def _stop_flusher(self) -> None:
        if self._flusher is not None:
            self._stop_flushing.set()
            self._arrived.set()
            self._flusher.join()
            self._flusher = None

    def due(self) -> bool:
        """Whether the owner should flush now (never while the flusher thread does it)."""
        if self._flusher is not None:
            return False
        first = self.first_waiting_at
        if first is None or not self.waiting:
            return False
        return len(self.waiting) >= FLUSH_EVENTS or time.monotonic() - first >= FLUSH_SECONDS

    def flush(self) -> int:
        """Write and publish every waiting event; how many were written."""
        self._record_dropped()
        if self.outputs.waiting:  # first: a task's output is stored by the time its end is
            self.outputs.write()
        taken: list[Event] = []
        self.first_waiting_at = None
        # popleft is atomic: the reader thread may append meanwhile, those wait for the next flush.
        with contextlib.suppress(IndexError):
            for _ in range(len(self.waiting)):
                taken.append(self.waiting.popleft())
        if self.waiting and self.first_waiting_at is None:
            self.first_waiting_at = time.monotonic()
        if not taken:
            return 0
        rows = []
        seq = self.next_seq
        place, dumps, job_id = self.packer.place, orjson.dumps, self.job_id
        for e in taken:
            if not e.lane:
                e.lane = place(e.key, e.phase, e.start, e.end)
            e.seq = seq
            rows.append((job_id, seq, e.framework, e.group, e.key, e.phase, e.status, e.lane, e.start, e.end, e.error,
                         dumps(e.figures).decode()))  # fmt: skip
            seq += 1
        _insert(rows)
        self.next_seq = seq
        self.written += len(rows)
        # The events, now with seq and lane, encoded once as what task_dict makes.
        live.publish_tasks(self.job_id, encode_events(taken), taken[0].seq, taken[-1].seq)
        return len(rows)

    def _end_open_tasks(self) -> None:
        """Every process of the job is gone: a task that started and never reported its end was killed with its
        process (out of memory, a signal) or stopped with the job. It ends ``lost`` now, so no bar runs forever and
        it is not counted as a task that raised."""
        now = time.time()
        fields = ("framework", "group", "key", "phase", "lane", "start")
        # Not capped (they go round _take): at most one per stored row, and no bar may run on forever.
        error = TASK_END_NOT_KEPT.format(cap=self.cap) if self.over_cap else TASK_LOST
        for row in running_rows(self.job_id).values(*fields):
            self.waiting.append(Event(**row, status=TaskStatus.LOST.value, end=max(now, row["start"]), error=error))
        while self.waiting:
            self.flush()

    def _record_dropped(self, *, now: bool = False) -> None:
        """Add the events dropped since the last time to the job's count: at most once a second, or ``now``."""
        dropped = self.over_cap + self.dropped
        if dropped == self._recorded_dropped:
            return
        if not now and time.monotonic() - self._recorded_at < RECORD_DROPPED_SECONDS:
            return
        added = dropped - self._recorded_dropped
        # The count is a column of the job row the events belong to, reached through TaskEvent's foreign key
        # (declared by name, "jobs.Job"): monitoring sits below jobs and imports nothing of it.
        jobs = TaskEvent.job.field.related_model.objects
        jobs.filter(pk=self.job_id).update(task_events_dropped=F("task_events_dropped") + added)
        self._recorded_dropped, self._recorded_at = dropped, time.monotonic()

    def close(self) -> None:
        """Stop listening, take in what the (finished) processes left in their connections, write it all.
        Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._stop.set()
            os.write(self._wake_w, b"x")
            self._thread.join(5)
        self._stop_flusher()
        for connection in list(self._connections.values()):
            self._drop_connection(connection)
        if self._server is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self._server)
            self._server.close()
        self._selector.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        try:
            self.check()
            while self.waiting:
                self.flush()
            self.outputs.write()
            self._end_open_tasks()
            self._record_dropped(now=True)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
        if self.rejected or self.dropped or self.over_cap:
            logger.info(
                "job %s: %d agent events rejected, %d dropped (queue full), %d over the cap of %d",
                self.job_id, self.rejected, self.dropped, self.over_cap, self.cap,
            )  # fmt: skip
