"""Dask task events, from a scheduler started inside the job (a ``LocalCluster`` the script creates).

Named in ``DASK_DISTRIBUTED__SCHEDULER__PRELOAD`` and ``..._WORKER__PRELOAD``: Dask imports this module in the
scheduler and in every worker and calls :func:`dask_setup`. On the scheduler a plugin watches the transitions
``processing -> memory`` (finished) and ``processing -> erred`` (failed); the worker's report that caused them
carries ``worker``, ``thread`` and ``startstops``, one bar per entry:

* phase = the entry's action (``compute``, ``transfer``, ``disk-read``, ``disk-write``);
* lane = ``"<worker> #<n>"`` for compute and disk, ``n`` counting the worker's threads from 1 in the order they
  are first seen (the raw thread id is in ``figures.thread``), and ``"<worker> transfer"`` for transfers, which a
  worker runs concurrently with its computations; a bar that would overlap another of its lane goes to the first
  sub-lane ``"<lane>.<k>"`` where it fits (transfers run several at once, and a busy worker has reported two
  tasks on one thread id at once), so the bars of a lane never overlap;
* group = the key prefix (``dask.utils.key_split``), key = ``str(key)``;
* an erred task's ``compute`` bar is ``failed`` with the exception text, e.g. ``ZeroDivisionError: division by
  zero``; an erred task with no compute entry (a worker that died) gets one failed bar at the time it erred.

A plugin's ``transition`` runs for every transition of every task on the scheduler's event loop, so it only appends
``(key, finish, kwargs)`` to a :class:`~pyrun_agent.emitter.Channel`; events and JSON are made in the emitter's
thread. The plugin's ``close`` (the scheduler closing) closes the channel, so the emitter's thread and connection
end with the last scheduler. Workers do nothing. A scheduler outside the job (``dask-scheduler`` backend, a user's
own cluster) does not load this module: the script's client follows it instead (:mod:`pyrun_agent.dask_remote`).
"""

from __future__ import annotations

import ast
import bisect
import re
import time

from pyrun_agent import emitter

_PHASES = {"compute": "compute", "transfer": "transfer", "disk-read": "disk-read", "disk-write": "disk-write"}
_REPR = re.compile(r"^([A-Za-z_][\w.]*)\((.*)\)$", re.DOTALL)


def exception_text(text) -> str:
    """``ZeroDivisionError('division by zero')`` (the repr Dask sends) as Python prints it:
    ``ZeroDivisionError: division by zero``."""
    text = str(text or "")
    match = _REPR.match(text)
    if not match:
        return text
    name, inner = match.groups()
    try:
        args = ast.literal_eval(f"({inner},)") if inner.strip() else ()
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    if not args:
        return name
    if len(args) == 1:
        # As Python prints them: a KeyError shows its key's repr.
        return f"{name}: {args[0]!r}" if name == "KeyError" else f"{name}: {args[0]}"
    return f"{name}: {args!r}"


# Beyond this many sub-lanes of one lane, bars share the last one: placing stays cheap whatever a worker reports.
MAX_SUB_LANES = 32


class _Lane:
    """The bars of one named lane, split into sub-lanes whose bars never overlap (first fit)."""

    __slots__ = ("subs",)

    def __init__(self) -> None:
        # Per sub-lane: starts and ends, sorted (bars that never overlap sort the same by both), and the last end.
        self.subs: list[list] = []

    def place(self, start: float, end: float) -> int:
        for index, sub in enumerate(self.subs):
            starts, ends, last_end = sub
            if start >= last_end:  # the usual case: a thread's tasks come one after another
                starts.append(start)
                ends.append(end)
                sub[2] = end
                return index
            at = bisect.bisect_left(starts, start)
            # Bars that merely touch do not overlap.
            if (at == 0 or ends[at - 1] <= start) and (at == len(starts) or starts[at] >= end):
                starts.insert(at, start)
                ends.insert(at, end)
                return index
        if len(self.subs) < MAX_SUB_LANES:
            self.subs.append([[start], [end], end])
        return len(self.subs) - 1


class _Converter:
    """Turns the scheduler's ``(key, finish, kwargs)`` into events; runs in the emitter's thread only."""

    def __init__(self) -> None:
        from dask.utils import key_split

        self._key_split = key_split
        self._threads: dict = {}  # (worker, thread id) -> n, per worker from 1
        self._lanes: dict[str, _Lane] = {}

    def _packed(self, lane: str, start, end) -> str:
        if not lane or not isinstance(start, (int, float)) or not isinstance(end, (int, float)) or end < start:
            return lane  # the runner fixes or drops such a bar; nothing to pack
        packer = self._lanes.get(lane)
        if packer is None:
            packer = self._lanes[lane] = _Lane()
        index = packer.place(start, end)
        return lane if index == 0 else f"{lane}.{index + 1}"

    def _lane_thread(self, worker: str, thread) -> str:
        n = self._threads.get((worker, thread))
        if n is None:
            n = sum(1 for w, _ in self._threads if w == worker) + 1
            self._threads[(worker, thread)] = n
        return f"{worker} #{n}"

    def __call__(self, item) -> list:
        key, finish, kwargs = item
        worker = str(kwargs.get("worker") or "")
        thread = kwargs.get("thread")
        failed = finish == "erred"
        name = str(key)
        group = self._key_split(key)
        error = (exception_text(kwargs.get("exception_text")) or "the task failed") if failed else ""
        # Numbers only: the worker is in the lane, and the runner takes all-number figures on its fast path.
        base_figures = {"thread": thread if isinstance(thread, int) else None}
        if not failed and isinstance(kwargs.get("nbytes"), int):
            base_figures["nbytes"] = kwargs["nbytes"]
        events = []
        computed = False
        for entry in kwargs.get("startstops") or ():
            phase = _PHASES.get(entry.get("action"))
            if phase is None:
                continue
            figures = base_figures
            if phase == "transfer":
                lane = f"{worker} transfer"
                source = entry.get("source")
                figures = {"source": str(source)[:200] if source else None}
            else:
                lane = self._lane_thread(worker, thread)
            is_failure = failed and phase == "compute"
            computed = computed or phase == "compute"
            start, end = entry.get("start"), entry.get("stop")
            events.append({"framework": "dask", "group": group, "key": name, "phase": phase,
                           "status": "failed" if is_failure else "finished", "lane": self._packed(lane, start, end),
                           "start": start, "end": end,
                           "error": error if is_failure else "", "figures": figures})  # fmt: skip
        if failed and not computed:
            now = time.time()
            lane = self._packed(self._lane_thread(worker, thread), now, now) if worker else ""
            events.append({"framework": "dask", "group": group, "key": name, "phase": "compute", "status": "failed",
                           "lane": lane, "start": now, "end": now, "error": error,
                           "figures": base_figures})  # fmt: skip
        return events


def _make_plugin(channel):
    from distributed.diagnostics.plugin import SchedulerPlugin

    class PyRunAgentPlugin(SchedulerPlugin):
        name = "pyrun-agent"

        def transition(self, key, start, finish, *args, **kwargs):
            if start == "processing" and (finish == "memory" or finish == "erred"):
                channel.put((key, finish, kwargs))

        async def close(self):
            # The scheduler is closing: its events go now, and with no other producer left the emitter's thread and
            # connection end with it (a test suite's leak check runs right after).
            channel.close()

    return PyRunAgentPlugin()


def dask_setup(server) -> None:
    sender = emitter.get()
    if sender is None:
        return
    try:
        from distributed import Scheduler

        if not isinstance(server, Scheduler) or "pyrun-agent" in server.plugins:
            return
        channel = sender.channel(_Converter())
        try:
            server.add_plugin(_make_plugin(channel), idempotent=True)
        except Exception:
            channel.close()  # an unclosed channel would keep the emitter's thread alive
            raise
    except Exception:  # noqa: S110 - a cluster without a timeline rather than no cluster
        pass
