"""Slots for tasks whose framework names no worker (Lithops on Lambda reports no worker id).

Each such task is put in the first slot where its interval overlaps nothing, so bars of one lane never overlap
and the number of slots is close to the job's peak concurrency. A running task occupies its slot from its start
onwards until its finished event arrives; that event goes to the same slot.
"""

from __future__ import annotations

import bisect
import math

SLOT_PREFIX = "slot "


class _Slot:
    __slots__ = ("ends", "last_end", "starts")

    def __init__(self) -> None:
        self.starts: list[float] = []  # sorted; ends[i] belongs to starts[i]
        self.ends: list[float] = []
        self.last_end = 0.0  # no interval ends later: the common case (tasks in time order) needs no search

    def is_free(self, start: float, end: float) -> bool:
        if start >= self.last_end:
            return True
        i = bisect.bisect_left(self.starts, start)
        # Bars that merely touch do not overlap: one task may start the instant the last one ended.
        if i > 0 and self.ends[i - 1] > start:
            return False
        return not (i < len(self.starts) and self.starts[i] < end)

    def add(self, start: float, end: float) -> int:
        i = bisect.bisect_right(self.starts, start)
        # Among bars of one start (a zero-length one touches a longer one), the shorter first: the ends stay in
        # order, so is_free's look at the bar before a start sees the latest end.
        while i > 0 and self.starts[i - 1] == start and self.ends[i - 1] > end:
            i -= 1
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        self.last_end = max(self.last_end, end)
        return i

    def remove_open(self, start: float) -> None:
        i = bisect.bisect_left(self.starts, start)
        while i < len(self.starts) and self.starts[i] == start:
            if math.isinf(self.ends[i]):
                del self.starts[i], self.ends[i]
                self.last_end = max(self.ends, default=0.0)
                return
            i += 1


class SlotPacker:
    def __init__(self) -> None:
        self.slots: list[_Slot] = []
        self.open: dict[tuple[str, str], tuple[int, float]] = {}  # (key, phase) → (slot index, start)

    def place(self, key: str, phase: str, start: float, end: float | None) -> str:
        """The lane of this event; ``end`` is None for a running event."""
        opened = self.open.get((key, phase))
        if opened is not None:
            index, open_start = opened
            if end is None:  # a second running event of the task: it keeps its slot
                return f"{SLOT_PREFIX}{index + 1}"
            del self.open[(key, phase)]
            slot = self.slots[index]
            slot.remove_open(open_start)
            # The finished event's start may differ from the running one's (the stats are final only at the
            # end): it stays in its slot when it still fits there, as it nearly always does.
            if slot.is_free(start, end):
                slot.add(start, end)
                return f"{SLOT_PREFIX}{index + 1}"
        stop = math.inf if end is None else end
        index = next((i for i, slot in enumerate(self.slots) if slot.is_free(start, stop)), None)
        if index is None:
            self.slots.append(_Slot())
            index = len(self.slots) - 1
        self.slots[index].add(start, stop)
        if end is None:
            self.open[(key, phase)] = (index, start)
        return f"{SLOT_PREFIX}{index + 1}"
