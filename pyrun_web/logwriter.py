"""A numbered, capped, buffered log writer: the one mechanism behind a job's log (``jobs.joblog``) and a runtime
build's log (``runtimes.buildlog``), which only say what their rows look like and where they are published.

Entries are (stream, text) pairs, queued from any thread (builders log from their own); only the thread that
owns the database connection flushes them, in one bulk insert and one published message. The writer is the only
one writing its owner's rows, so it counts their ``seq`` itself and they have no gaps. A cap on the total size
keeps an endless printer from filling the database: past it, entries are dropped after a one-time notice, except
on the ``uncapped_streams`` (the platform's own lines, which must tell how a run ended).
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar, Generic, TypeVar

from django.db import models
from django.db.models import Max, Model

Row = TypeVar("Row", bound=Model)


class LogEntry(models.Model):
    """A numbered entry of a log a :class:`LogWriter` writes (a job's output chunk, a build's line); the concrete
    model adds the foreign key to its owner, named by ``owner_field``."""

    owner_field: ClassVar[str]
    seq = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.owner_field} {getattr(self, f'{self.owner_field}_id')} #{self.seq}: {self.text[:60]}"


class LogWriter(Generic[Row]):
    model: ClassVar[type[Model]]  # has the fields ``<owner_field>`` and ``seq``
    owner_field: ClassVar[str]  # e.g. "job_id"
    max_size: ClassVar[int]  # the cap, in units of :meth:`size`
    # Consecutive entries of one stream merged into rows of at most this many characters; None: a row per entry.
    row_chars: ClassVar[int | None] = None
    uncapped_streams: ClassVar[frozenset[str]] = frozenset()
    flush_seconds: ClassVar[float] = 0.1  # see :meth:`due`
    flush_size: ClassVar[int] = 1

    def __init__(self, owner_id: int, *, written: int = 0) -> None:
        self.owner_id = owner_id
        last = self.model.objects.filter(**{self.owner_field: owner_id}).aggregate(last=Max("seq"))["last"]
        self.next_seq = (last or 0) + 1
        self.written = written  # the size already stored (by an earlier writer of the same owner, too)
        self.pending: list[tuple[str, str]] = []
        self.pending_size = 0
        self.first_pending_at: float | None = None
        self.truncated = False
        self._lock = threading.Lock()

    # --- What a kind of log defines -------------------------------------------------------------------------

    def size(self, text: str) -> int:
        """What an entry counts against ``max_size`` (default: one line)."""
        return 1

    def truncation_notice(self) -> tuple[str, str]:
        """The (stream, text) entry written once when the cap is reached."""
        raise NotImplementedError

    def make_row(self, seq: int, stream: str, text: str) -> Row:
        raise NotImplementedError

    def flushed(self, rows: list[Row], size: int) -> None:
        """Called after the rows are stored and before they are published (e.g. to count totals)."""

    def publish(self, rows: list[Row]) -> None:
        raise NotImplementedError

    # --- Writing ----------------------------------------------------------------------------------------------

    def add(self, stream: str, *texts: str) -> bool:
        """Queue entries of one stream, in order and together (thread-safe); False when the cap dropped them
        (from the first one over it on)."""
        with self._lock:
            for text in texts:
                size = self.size(text)
                if stream not in self.uncapped_streams and self.written + self.pending_size + size > self.max_size:
                    if not self.truncated:
                        self.truncated = True
                        notice_stream, notice = self.truncation_notice()
                        self._queue(notice_stream, notice, self.size(notice))
                    return False
                self._queue(stream, text, size)
            return True

    def _queue(self, stream: str, text: str, size: int) -> None:
        if self.first_pending_at is None:
            self.first_pending_at = time.monotonic()
        self.pending.append((stream, text))
        self.pending_size += size

    def due(self) -> bool:
        """Whether the queued entries should be flushed now: ``flush_size`` of them, or the oldest has waited
        ``flush_seconds``."""
        if not self.pending or self.first_pending_at is None:
            return False
        return self.pending_size >= self.flush_size or time.monotonic() - self.first_pending_at >= self.flush_seconds

    def flush(self) -> int:
        """Store and publish what is queued; call it from the thread that owns the database connection."""
        with self._lock:
            batch, size = self.pending, self.pending_size
            self.pending, self.pending_size, self.first_pending_at = [], 0, None
            if not batch:
                return 0
            pieces = self._merged(batch) if self.row_chars else batch
            first = self.next_seq
            self.next_seq += len(pieces)
            self.written += size
        rows = [self.make_row(first + i, stream, text) for i, (stream, text) in enumerate(pieces)]
        self.model.objects.bulk_create(rows)
        self.flushed(rows, size)
        self.publish(rows)
        return len(rows)

    def _merged(self, batch: list[tuple[str, str]]) -> list[tuple[str, str]]:
        limit = self.row_chars or 0
        merged: list[list[str]] = []  # [stream, text]
        for stream, text in batch:
            while text:
                if merged and merged[-1][0] == stream and len(merged[-1][1]) < limit:
                    room = limit - len(merged[-1][1])
                    merged[-1][1] += text[:room]
                    text = text[room:]
                else:
                    merged.append([stream, text[:limit]])
                    text = text[limit:]
        return [(stream, text) for stream, text in merged]
