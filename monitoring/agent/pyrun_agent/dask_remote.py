"""Dask task events from a scheduler outside the job (the ``dask-scheduler`` backend: a user's own cluster).

Such a scheduler does not load our preload and cannot reach the job's socket, so the script's own ``Client``
reports instead: when a synchronous client connects to the address in ``DASK_SCHEDULER_ADDRESS`` (the backend sets
it; a scheduler the job starts itself is reported by :mod:`pyrun_agent.dask_preload` and never named there), a
daemon thread polls the scheduler's task stream (``get_task_stream(start_index=...)``, the record Dask's dashboard
draws from, on the scheduler since distributed 2024) every ``POLL_SECONDS`` and turns each record into the same
events the preload makes. ``Client.close`` polls one last time first.

Limits: the task stream holds every task of the scheduler, so on a cluster shared with other clients their tasks
show too; an asynchronous client is not followed; events arrive up to ``POLL_SECONDS`` late.
"""

from __future__ import annotations

import contextlib
import os
import threading

from pyrun_agent import emitter

POLL_SECONDS = 0.5
_PATCHED = "__pyrun_agent__"
_followed: set = set()  # scheduler addresses already followed by a client of this process
_followed_lock = threading.Lock()


def _address(value) -> str:
    return str(value or "").rstrip("/")


class _Follower:
    def __init__(self, client, channel) -> None:
        self.client = client
        self.channel = channel
        self.index = None
        self.lock = threading.Lock()  # the thread and close() never poll at the same time
        self.done = threading.Event()

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

    def last_poll(self) -> None:
        self.done.set()
        with contextlib.suppress(Exception):  # the client closes whatever happens
            self.poll(timeout=2)


def _follow(client) -> None:
    sender = emitter.get()
    remote = _address(os.environ.get("DASK_SCHEDULER_ADDRESS"))
    if sender is None or not remote or getattr(client, "asynchronous", False):
        return
    address = _address(getattr(getattr(client, "scheduler", None), "address", None))
    if address != remote:
        return
    with _followed_lock:
        if address in _followed:
            return
        _followed.add(address)
    from pyrun_agent.dask_preload import _Converter

    follower = _Follower(client, sender.channel(_Converter()))
    client._pyrun_agent_follower = follower
    follower.poll()
    threading.Thread(target=follower.run, name="pyrun-agent-dask", daemon=True).start()


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
        follower = self.__dict__.get("_pyrun_agent_follower")
        if follower is not None:
            follower.last_poll()
        return close(self, *args, **kwargs)

    for name, wrapper, original in (("start", patched_start, start), ("close", patched_close, close)):
        wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = name, original.__doc__, original
        setattr(wrapper, _PATCHED, True)
        setattr(cls, name, wrapper)
