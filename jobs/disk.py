"""The disk a running job fills: its working copy (a host folder) plus its private ``/tmp`` and ``$HOME``.

The working copy lives on the worker's disk, where no filesystem quota applies to one folder, so it is
measured by walking it; the two tmpfs have a size cap of their own, and their use is read with ``statvfs``
through the sandbox's ``/proc/<pid>/root`` (they exist only in its mount namespace). A big tree costs more to
walk, so the next look waits at least ten times as long as the last walk took.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pyrun_web.sandbox import HOME, TMPDIR

MIN_INTERVAL_S = 1.0
WALK_COST_FACTOR = 10


class DiskQuota:
    def __init__(self, workdir: Path, limit: int | None, sandbox_pid: int | None) -> None:
        self.workdir = workdir
        self.limit = limit
        self.sandbox_pid = sandbox_pid
        self.next_check = 0.0
        self.last_used = 0

    def due(self, now: float) -> bool:
        return bool(self.limit) and now >= self.next_check

    def exceeded(self) -> bool:
        """Measure now; True when the job uses more than its limit."""
        if not self.limit:
            return False
        started = time.monotonic()
        self.last_used = tree_bytes(self.workdir) + self._tmpfs_bytes()
        spent = time.monotonic() - started
        self.next_check = time.monotonic() + max(MIN_INTERVAL_S, WALK_COST_FACTOR * spent)
        return self.last_used > self.limit

    def _tmpfs_bytes(self) -> int:
        pid = self._inner_pid()
        if pid is None:
            return 0
        total = 0
        for mount in (TMPDIR, HOME):
            try:
                stats = os.statvfs(f"/proc/{pid}/root{mount}")
            except OSError:
                continue
            total += (stats.f_blocks - stats.f_bfree) * stats.f_frsize
        return total

    def _inner_pid(self) -> int | None:
        """A process inside the sandbox's mount namespace: bwrap's child (the outer bwrap stays outside)."""
        if self.sandbox_pid is None:
            return None
        try:
            children = Path(f"/proc/{self.sandbox_pid}/task/{self.sandbox_pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None


def tree_bytes(root: Path) -> int:
    """Allocated bytes of every file below ``root`` (sparse files count what they use), links not followed."""
    total = 0
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                continue  # removed while we walk
    return total
