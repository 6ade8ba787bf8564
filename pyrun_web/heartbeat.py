"""The periodic chores of a long-running owner (a job's worker, a build's): heartbeats, cancel polls, samples.

A loop that does several chores at their own pace asks a :class:`Ticker` of each whether it is due; a thread
busy with one long step keeps beating with :func:`beating`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from django.db import connections


class Ticker:
    """Due every ``seconds``, counted from the last time it was due (at once, unless ``wait_first``)."""

    def __init__(self, seconds: float, *, wait_first: bool = False) -> None:
        self.seconds = seconds
        self.next_at = time.monotonic() + (seconds if wait_first else 0.0)

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now < self.next_at:
            return False
        self.next_at = now + self.seconds
        return True


@contextlib.contextmanager
def beating(beat: Callable[[], object], seconds: float, *, name: str = "heartbeat") -> Iterator[None]:
    """Call ``beat`` every ``seconds`` from a thread while the caller is busy with one long step."""
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(seconds):
                beat()
        finally:
            connections.close_all()  # this thread's connections

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
