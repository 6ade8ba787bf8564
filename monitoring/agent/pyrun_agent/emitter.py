"""The per-process sender of task events to the runner's socket (format: ``monitoring/wire.py``).

Two ways in:

* :meth:`Emitter.put` / :meth:`Channel.put` queue an event (or, for a :class:`Channel`, a raw item its converter
  turns into events later) and return at once. A thread, started on the first event, sends a batch (one JSON array
  per line) as soon as ``BATCH`` items wait or ``LINGER`` seconds after the first one started waiting. The
  producer's cost is a deque append and a length check: conversion and JSON happen in the thread.
* :meth:`Emitter.send_now` writes at once, for processes that may end without running ``atexit`` (Lithops worker
  processes leave with ``os._exit``). A Unix socket write costs microseconds.

Nothing here raises into the caller or blocks it for long: a missing socket or a runner that went away drops the
events (counted in ``dropped``), a connection is retried at most every ``RECONNECT_SECONDS``, and a write that
cannot finish within ``SEND_TIMEOUT`` seconds gives the connection up. Queued events are flushed at exit; a forked
child starts with empty queues, no connection and no thread of its own.

The agent leaves nothing behind that a library's leak checks could see (a Dask test suite run as a job checks the
threads and file descriptors of every test that makes a scheduler): a producer that ends (a Dask scheduler
closing, a client that stops following a remote one) closes its :class:`Channel`, and when the last one is closed
the emitter sends what waits, stops and joins its thread and closes its connection. The next event starts them
again. The thread is a daemon only so that a process never waits for it at exit (``at_exit`` stops it too).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import threading
import time
from collections import deque

SOCKET_ENV = "PYRUN_AGENT_SOCKET"
BATCH = 500  # items per line, and how many waiting items wake the thread before LINGER is up
LINGER = 0.02
SEND_TIMEOUT = 2.0
RECONNECT_SECONDS = 1.0

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


class Channel:
    """A queue of raw items that ``convert`` (called in the emitter's thread) turns into a list of events, so a
    hot producer such as a Dask scheduler plugin only appends a tuple."""

    __slots__ = ("_emitter", "closed", "convert", "queue")

    def __init__(self, emitter: Emitter, convert) -> None:
        self._emitter = emitter
        self.convert = convert
        self.queue: deque = deque()
        self.closed = False

    def put(self, item) -> None:
        queue = self.queue
        queue.append(item)
        n = len(queue)
        if n == 1 or n == BATCH or self._emitter.closing:
            if self.closed:
                # A straggler after its producer ended (a task finishing while its scheduler closes): waking the
                # emitter would start a thread nobody stops, so it is dropped.
                queue.clear()
                self._emitter.dropped += n
                return
            self._emitter.wake()

    def close(self) -> None:
        """This producer is done: its events are sent now, and the emitter stops its thread and connection when no
        other channel is open. Idempotent."""
        self._emitter.close_channel(self)


def _as_list(event):
    return (event,)


class Emitter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.sent = 0  # events written to the socket
        self.dropped = 0  # events lost: no socket, runner gone, or an event the converter could not read
        self.closing = False  # at exit: every put is sent at once, since the thread may not run again
        self._events = Channel(self, _as_list)
        self._channels = [self._events]
        self._reset()

    def _reset(self) -> None:
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one writer on the socket at a time
        self._start_lock = threading.Lock()  # starting and stopping the thread, and opening and closing channels
        self._sock: socket.socket | None = None
        self._retry_at = 0.0
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None  # the running thread's own stop signal

    # -- producers ---------------------------------------------------------------------------------------------

    def channel(self, convert) -> Channel:
        """A new producer's queue; the producer closes it when it ends (:meth:`Channel.close`)."""
        channel = Channel(self, convert)
        with self._start_lock:
            self._channels.append(channel)
        return channel

    def close_channel(self, channel: Channel) -> None:
        with self._start_lock:
            if channel.closed:
                return
            channel.closed = True
            last = not any(c is not self._events and not c.closed for c in self._channels)
            if last:
                self._stop_thread()
        # Its last items, now, before it leaves the list the thread drains (with the others', if it was the last).
        self.flush()
        with self._start_lock:
            self._channels = [c for c in self._channels if c is not channel]
            if last and self._thread is None:
                if self._waiting() and not self.closing:
                    # The emitter's own queue was fed meanwhile (its producer woke the thread as it stopped).
                    self._start_locked()
                else:
                    self._close_socket()

    def put(self, event: dict) -> None:
        self._events.put(event)

    def wake(self) -> None:
        if self.closing:
            self.flush()
            return
        if self._thread is None:
            self._start()
        self._wake.set()

    def send_now(self, events: list) -> None:
        """Write ``events`` before returning (the process may be gone before the thread would send them)."""
        try:
            self._write((_encode(events) + "\n").encode(), len(events))
        except Exception:
            self.dropped += len(events)

    def send_line_now(self, item: dict) -> None:
        """Write one object as a line of its own (not a batch of events: a task's output, see
        ``lithops_hooks``) before returning."""
        try:
            self._write((_encode(item) + "\n").encode(), 1)
        except Exception:
            self.dropped += 1

    # -- the sending side --------------------------------------------------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._start_locked()

    def _start_locked(self) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(stop,), name="pyrun-agent", daemon=True)
        thread.start()
        self._thread, self._stop = thread, stop

    def _stop_thread(self) -> None:
        """Stop and join the thread (``_start_lock`` held); whatever still waits is the caller's to flush. A
        producer that wakes the stopping thread meanwhile queued before the caller's flush, so nothing is lost."""
        thread, stop = self._thread, self._stop
        if thread is None or stop is None:
            return
        stop.set()
        self._wake.set()
        if thread is not threading.current_thread():
            thread.join(SEND_TIMEOUT + 1)  # at most one write that times out
        self._thread = self._stop = None

    def _waiting(self) -> int:
        return sum(len(channel.queue) for channel in self._channels)

    def _run(self, stop: threading.Event) -> None:
        wake = self._wake
        while not stop.is_set():
            try:
                wake.clear()
                if not self._waiting():
                    if stop.is_set():  # set before the wake we just cleared: waiting would never end
                        break
                    wake.wait()
                    continue
                deadline = time.monotonic() + LINGER
                while self._waiting() < BATCH and not stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    wake.clear()
                    wake.wait(left)
                if not stop.is_set():  # else the one who stops us flushes
                    self.flush()
            except Exception:  # noqa: S112 - the thread must outlive any bad event
                continue

    def _drain(self) -> list:
        events: list = []
        for channel in self._channels:
            queue, convert = channel.queue, channel.convert
            while True:
                try:
                    item = queue.popleft()
                except IndexError:
                    break
                try:
                    events.extend(convert(item))
                except Exception:
                    self.dropped += 1
        return events

    def flush(self, timeout: float = SEND_TIMEOUT) -> None:
        """Send every waiting event now."""
        if not self._lock.acquire(timeout=timeout):
            return  # another writer is stuck on a full socket: its timeout ends it, these go with the next flush
        try:
            events = self._drain()
            if not events:
                return
            lines = [_encode(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
            self._write_locked(("\n".join(lines) + "\n").encode(), len(events))
        finally:
            self._lock.release()

    def _write(self, data: bytes, count: int) -> None:
        if not self._lock.acquire(timeout=SEND_TIMEOUT):
            self.dropped += count
            return
        try:
            self._write_locked(data, count)
        finally:
            self._lock.release()

    def _write_locked(self, data: bytes, count: int) -> None:
        sock = self._sock
        if sock is None:
            sock = self._connect()
            if sock is None:
                self.dropped += count
                return
        try:
            sock.sendall(data)
        except OSError:
            # A half-written line is the runner's to discard (it counts a malformed line); never resend it.
            self._disconnect()
            self.dropped += count
            return
        self.sent += count

    def _connect(self) -> socket.socket | None:
        now = time.monotonic()
        if now < self._retry_at:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(SEND_TIMEOUT)
            sock.connect(self.path)
        except OSError:
            sock.close()
            self._retry_at = now + RECONNECT_SECONDS
            return None
        self._sock = sock
        return sock

    def _disconnect(self) -> None:
        # The writer's lock is held: a failed write.
        self._drop_socket()
        self._retry_at = time.monotonic() + RECONNECT_SECONDS

    def _close_socket(self) -> None:
        """Close the connection when nothing is left to send (no retry delay: this is no failure)."""
        if self._lock.acquire(timeout=SEND_TIMEOUT):
            try:
                self._drop_socket()
            finally:
                self._lock.release()

    def _drop_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    # -- process life ------------------------------------------------------------------------------------------

    def at_exit(self) -> None:
        self.closing = True  # from now on every put is sent by its producer
        if self._start_lock.acquire(timeout=SEND_TIMEOUT):
            try:
                self._stop_thread()
            finally:
                self._start_lock.release()
        self.flush()

    def after_fork_in_child(self) -> None:
        # The parent's queued events and connection stay the parent's: sending them here would duplicate them or
        # interleave two writers on one stream. Closing our copy of the socket leaves the parent's open.
        sock = self._sock
        for channel in self._channels:
            channel.queue.clear()
        self._reset()
        self.sent = self.dropped = 0
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


_emitter: Emitter | None = None
_emitter_lock = threading.Lock()


def get() -> Emitter | None:
    """This process's emitter, or None when the job has no agent socket."""
    global _emitter
    if _emitter is not None:
        return _emitter
    path = os.environ.get(SOCKET_ENV)
    if not path:
        return None
    with _emitter_lock:
        if _emitter is None:
            emitter = Emitter(path)
            atexit.register(emitter.at_exit)
            _emitter = emitter
    return _emitter


def _after_fork_in_child() -> None:
    global _emitter_lock
    _emitter_lock = threading.Lock()
    if _emitter is not None:
        _emitter.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
