"""Dask task events from a scheduler outside the job (the ``dask-scheduler`` backend: a user's own cluster).

Such a scheduler does not load our preload and cannot reach the job's socket, so the script's own ``Client``
reports instead: when a synchronous client connects to the address in ``DASK_SCHEDULER_ADDRESS`` (the backend sets
it) and no scheduler of this process has that address (one the job starts itself is reported by
:mod:`pyrun_agent.dask_preload`), a thread polls the scheduler's task stream (``get_task_stream(start_index=...)``,
the record Dask's dashboard draws from, on the scheduler since distributed 2024) every ``POLL_SECONDS`` and turns
each record into the same events the preload makes. ``Client.close`` stops and joins that thread, polls one last
time and closes the follower's emitter channel, so nothing of the agent outlives the client (a test suite's leak
check looks right after); a later client of that scheduler is followed again.

Limits: the task stream holds every task of the scheduler, so on a cluster shared with other clients their tasks
show too; an asynchronous client is not followed; events arrive up to ``POLL_SECONDS`` late.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from pyrun_agent import emitter

POLL_SECONDS = 0.5
JOIN_SECONDS = 15  # a poll in flight ends within its callback timeout
_PATCHED = "__pyrun_agent__"
_followed: set = set()  # scheduler addresses followed right now by a client of this process
_followed_lock = threading.Lock()


def _address(value) -> str:
    return str(value or "").rstrip("/")


def _in_this_process(address: str) -> bool:
    """Whether a scheduler of this process listens on ``address`` (the preload watches it already)."""
    scheduler = getattr(sys.modules.get("distributed.scheduler"), "Scheduler", None)
    for server in list(getattr(scheduler, "_instances", ())):
        with contextlib.suppress(Exception):  # a scheduler not listening yet, or any longer, has no address
            if _address(server.address) == address:
                return True
    return False


class _Follower:
    def __init__(self, client, channel, address: str) -> None:
        self.client = client
        self.channel = channel
        self.address = address
        self.index = None
        self.lock = threading.Lock()  # the thread and close() never poll at the same time
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def poll(self, timeout: float = 10) -> None:
        client = self.client
        with self.lock:
            if self.index is None:  # only what runs from now on is the job's
                self.index = client.sync(client.scheduler.get_task_stream_index, callback_timeout=timeout)
                return
            records = client.sync(client.scheduler.get_task_stream, start_index=self.index, callback_timeout=timeout)
            self.index += len(records)
        for record in records:
            key = record.get("key")
            if isinstance(key, list):  # msgpack turned the tuple key into a list
                key = tuple(key)
            finish = "erred" if record.get("exception_text") or record.get("status") == "error" else "memory"
            self.channel.put((key, finish, record))

    def run(self) -> None:
        failures = 0
        while not self.done.wait(POLL_SECONDS):
            if self.client.status not in ("running", "connecting"):
                break
            try:
                self.poll()
                failures = 0
            except Exception:
                failures += 1
                if failures >= 20:  # a scheduler without a task stream (old Dask) or gone for good
                    break

    def start(self) -> None:
        # A daemon only so that a script that never closes its client still exits; close() joins it.
        self.thread = threading.Thread(target=self.run, name="pyrun-agent-dask", daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop and join the thread, poll one last time, hand the events over; the client closes whatever happens.
        Idempotent."""
        if self.done.is_set():
            return
        self.done.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_SECONDS)
        if self.index is not None:  # else the first poll failed: nothing to catch up on
            with contextlib.suppress(Exception):
                self.poll(timeout=2)
        with contextlib.suppress(Exception):
            self.channel.close()
        with _followed_lock:
            _followed.discard(self.address)


def _follow(client) -> None:
    sender = emitter.get()
    remote = _address(os.environ.get("DASK_SCHEDULER_ADDRESS"))
    if sender is None or not remote or getattr(client, "asynchronous", False):
        return
    address = _address(getattr(getattr(client, "scheduler", None), "address", None))
    if address != remote or _in_this_process(address):
        return
    with _followed_lock:
        if address in _followed:
            return
        _followed.add(address)
    try:
        from pyrun_agent.dask_preload import _Converter

        follower = _Follower(client, sender.channel(_Converter()), address)
    except Exception:
        with _followed_lock:
            _followed.discard(address)
        raise
    client._pyrun_agent_follower = follower
    try:
        follower.poll()
        follower.start()
    except Exception:
        follower.close()
        raise


def patch_client(module) -> None:
    cls = module.Client
    if getattr(cls.start, _PATCHED, False):
        return
    start, close = cls.start, cls.close

    def patched_start(self, **kwargs):
        result = start(self, **kwargs)
        with contextlib.suppress(Exception):  # a client without a timeline rather than no client
            _follow(self)
        return result

    def patched_close(self, *args, **kwargs):
        follower = self.__dict__.pop("_pyrun_agent_follower", None)
        if follower is not None:
            follower.close()
        return close(self, *args, **kwargs)

    for name, wrapper, original in (("start", patched_start, start), ("close", patched_close, close)):
        wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = name, original.__doc__, original
        setattr(wrapper, _PATCHED, True)
        setattr(cls, name, wrapper)
