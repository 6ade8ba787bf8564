"""Resource samples of a job's process tree (psutil), and the job's totals they add up to.

CPU time and storage I/O are kept per process and summed over every process seen, so a counter never goes back
when a process ends; a process that starts and ends between two samples is counted only through its parent's
``children_*`` times once reaped (CPU) and not at all (I/O). Each is a lower bound of the truth, so the total
is the larger. The rusage of the reaped sandbox completes the CPU
total at the end.
"""

from __future__ import annotations

import contextlib
import resource
import time
from dataclasses import dataclass

import psutil

from monitoring.models import ResourceSample


@dataclass
class _Seen:
    cpu: float = 0.0
    read: int = 0
    write: int = 0


class ProcessTreeSampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu_seconds = 0.0  # the tree's CPU total so far
        self.peak_rss = 0
        self._seen: dict[tuple[int, float], _Seen] = {}  # (pid, create time): a reused pid is a new process
        self._last: tuple[float, float] | None = None  # (monotonic, cpu total) of the previous sample
        self._net_base = _net_counters()
        self._started = time.monotonic()

    def sample(self, seq: int, job_id: int) -> ResourceSample | None:
        """A sample of the tree now (not saved); None once the root process is gone."""
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        rss = 0
        with_children = 0.0  # another lower bound: processes that ended count in their parent's children_* times
        alive = 0
        for proc in tree:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    memory = proc.memory_info().rss
                    io = _io(proc)
                    seen = self._seen.setdefault((proc.pid, proc.create_time()), _Seen())
            except psutil.Error:
                continue
            alive += 1
            rss += memory
            seen.cpu = max(seen.cpu, times.user + times.system)
            with_children += times.user + times.system + times.children_user + times.children_system
            if io is not None:
                seen.read, seen.write = max(seen.read, io[0]), max(seen.write, io[1])
        every_process = self._seen.values()
        cpu_total = max(self.cpu_seconds, sum(s.cpu for s in every_process), with_children)
        now = time.monotonic()
        if self._last is None:
            elapsed, used = now - self._started, cpu_total
        else:
            elapsed, used = now - self._last[0], cpu_total - self._last[1]
        self._last = (now, cpu_total)
        self.cpu_seconds = cpu_total
        self.peak_rss = max(self.peak_rss, rss)
        sent, recv = (a - b for a, b in zip(_net_counters(), self._net_base, strict=True))
        return ResourceSample(
            job_id=job_id, seq=seq, t=time.time(),
            cpu_percent=round(100.0 * used / elapsed, 1) if elapsed > 0 else 0.0,
            rss_bytes=rss, processes=alive,
            read_bytes=sum(s.read for s in every_process), write_bytes=sum(s.write for s in every_process),
            net_sent_bytes=max(sent, 0), net_recv_bytes=max(recv, 0),
        )  # fmt: skip

    def reaped(self, usage: resource.struct_rusage) -> None:
        """Complete the totals with the rusage of the reaped sandbox: everything the tree used (its init reaps
        every orphan); maxrss is its largest single process, all a job too short to be sampled leaves."""
        self.cpu_seconds = max(self.cpu_seconds, usage.ru_utime + usage.ru_stime)
        self.peak_rss = max(self.peak_rss, usage.ru_maxrss * 1024)


def _io(proc: psutil.Process) -> tuple[int, int] | None:
    with contextlib.suppress(psutil.Error, AttributeError):
        counters = proc.io_counters()
        return counters.read_bytes, counters.write_bytes
    return None


def _net_counters() -> tuple[int, int]:
    with contextlib.suppress(Exception):
        counters = psutil.net_io_counters()
        if counters is not None:
            return counters.bytes_sent, counters.bytes_recv
    return 0, 0
