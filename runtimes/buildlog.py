"""A build's log: lines from any thread are buffered and written by the build's owner in small batches.

Builders log from their build thread (and rattler from its own); only the thread that owns the database
connection writes, so a builder never touches the database.
"""

from __future__ import annotations

import threading

from django.db.models import Max

from runtimes import events
from runtimes.models import RuntimeLogLine

MAX_LINE_CHARS = 4000
# A build that prints without end (a runaway compiler, a loop in setup.py) must not fill the database.
MAX_LINES_PER_BUILD = 20_000


class BuildLog:
    def __init__(self, runtime_id: int) -> None:
        self.runtime_id = runtime_id
        last = RuntimeLogLine.objects.filter(runtime_id=runtime_id).aggregate(last=Max("seq"))["last"]
        self._next_seq = (last or 0) + 1
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._written = 0
        self._truncated = False

    def write(self, text: str) -> None:
        """Queue a line (thread-safe); embedded newlines become separate lines."""
        with self._lock:
            for line in str(text).split("\n"):
                if self._written + len(self._pending) >= MAX_LINES_PER_BUILD:
                    if not self._truncated:
                        self._pending.append(f"[log truncated after {MAX_LINES_PER_BUILD} lines]")
                        self._truncated = True
                    return
                self._pending.append(line[:MAX_LINE_CHARS])

    def flush(self) -> int:
        """Write and publish what is queued; call it from the thread that owns the database connection."""
        with self._lock:
            batch, self._pending = self._pending, []
            first = self._next_seq
            self._next_seq += len(batch)
            self._written += len(batch)
        if not batch:
            return 0
        rows = [RuntimeLogLine(runtime_id=self.runtime_id, seq=first + i, text=text) for i, text in enumerate(batch)]
        RuntimeLogLine.objects.bulk_create(rows)
        events.publish_log(self.runtime_id, [(row.seq, row.text) for row in rows])
        return len(rows)
