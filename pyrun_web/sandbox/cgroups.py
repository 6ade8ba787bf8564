"""One cgroup per sandbox: its process count, CPU share and memory, whoever the sandbox runs as.

rlimits are per process (``RLIMIT_AS``) or per uid (``RLIMIT_NPROC``, which the kernel ignores for root and
which counts every process of the uid, so one org's fork storm would starve another's jobs). A cgroup counts
exactly the sandbox's processes. Each controller is looked up where this process's own cgroup is (cgroup v1:
one hierarchy per controller; v2: one for all, with the controllers enabled in ``cgroup.subtree_control``), and
a ``pyrun-sandboxes`` folder below it holds one child per sandbox. A controller that cannot be written here
(a container without a delegated cgroup, a non-root platform on v1) is simply absent: :func:`status` reports it,
and the sandbox refuses to start without a pids controller unless the operator opted out.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

PARENT = "pyrun-sandboxes"
CONTROLLERS = ("pids", "cpu", "memory")
_STALE_SECONDS = 60
# cgroup v1's cpu.shares for the v2 default weight of 100.
_V1_SHARES_PER_WEIGHT = 1024 / 100


@dataclass(frozen=True)
class Hierarchy:
    """Where one controller's sandbox cgroups are made."""

    controller: str
    parent: Path
    v2: bool


@dataclass(frozen=True)
class CgroupLimits:
    max_processes: int | None = None
    memory_bytes: int | None = None
    cpu_weight: int | None = None  # v2 scale: 1..10000, 100 = an equal share
    cpu_max_cores: float | None = None


class SandboxCgroup:
    """The cgroups of one sandbox (one per hierarchy; on v2 a single one). ``procs_files`` are what bwrap and its
    child are written into before the sandbox's command runs (while the child waits on ``--block-fd``, or between
    fork and exec for a terminal), so every process of the command is counted from the start."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

    @property
    def procs_files(self) -> list[str]:
        return sorted({str(path / "cgroup.procs") for path in self.paths.values()})

    def path(self, controller: str) -> Path | None:
        return self.paths.get(controller)

    def read(self, controller: str, name: str) -> str:
        path = self.paths.get(controller)
        if path is None:
            return ""
        try:
            return (path / name).read_text()
        except OSError:
            return ""

    def remove(self) -> None:
        for path in set(self.paths.values()):
            _remove(path)


def create(limits: CgroupLimits) -> SandboxCgroup | None:
    """Fresh cgroups with ``limits`` in every usable hierarchy; None when none is usable."""
    wanted = {
        "pids": limits.max_processes,
        "memory": limits.memory_bytes,
        "cpu": limits.cpu_weight or limits.cpu_max_cores,
    }
    paths: dict[str, Path] = {}
    name = uuid.uuid4().hex
    for controller, value in wanted.items():
        if not value:
            continue
        hierarchy = hierarchies().get(controller)
        if hierarchy is None:
            continue
        path = hierarchy.parent / name
        if not path.exists():
            _sweep_stale(hierarchy.parent)
            path.mkdir()
        paths[controller] = path
        _write_limit(hierarchy, path, limits)
    return SandboxCgroup(paths) if paths else None


def _write_limit(hierarchy: Hierarchy, path: Path, limits: CgroupLimits) -> None:
    if hierarchy.controller == "pids" and limits.max_processes:
        (path / "pids.max").write_text(str(limits.max_processes))
    elif hierarchy.controller == "memory" and limits.memory_bytes:
        if hierarchy.v2:
            (path / "memory.max").write_text(str(limits.memory_bytes))
            with contextlib.suppress(OSError):  # no swapping past the limit either
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
    elif hierarchy.controller == "cpu":
        weight = limits.cpu_weight or 100
        period = 100_000
        if hierarchy.v2:
            (path / "cpu.weight").write_text(str(weight))
            if limits.cpu_max_cores:
                (path / "cpu.max").write_text(f"{int(limits.cpu_max_cores * period)} {period}")
        else:
            (path / "cpu.shares").write_text(str(max(2, int(weight * _V1_SHARES_PER_WEIGHT))))
            if limits.cpu_max_cores:
                (path / "cpu.cfs_period_us").write_text(str(period))
                (path / "cpu.cfs_quota_us").write_text(str(int(limits.cpu_max_cores * period)))


@functools.cache
def hierarchies() -> dict[str, Hierarchy]:
    """The usable hierarchy of each controller (probed once per process)."""
    found: dict[str, Hierarchy] = {}
    for controller in CONTROLLERS:
        for base, v2 in _candidates(controller):
            parent = _usable_parent(base, controller, v2)
            if parent is not None:
                found[controller] = Hierarchy(controller, parent, v2)
                break
    return found


def _usable_parent(base: Path, controller: str, v2: bool) -> Path | None:
    parent = base / PARENT
    probe_file = {"pids": "pids.max", "cpu": "cpu.weight" if v2 else "cpu.shares"}.get(
        controller, "memory.max" if v2 else "memory.limit_in_bytes"
    )
    try:
        parent.mkdir(exist_ok=True)
        if v2:  # children only get the files of controllers enabled in their parent
            for level in (base, parent):
                with contextlib.suppress(OSError):
                    (level / "cgroup.subtree_control").write_text(f"+{controller}")
        probe = parent / f"probe-{uuid.uuid4().hex}"
        probe.mkdir()
        usable = (probe / probe_file).exists()
        probe.rmdir()
    except OSError:
        usable = False
    if usable:
        return parent
    with contextlib.suppress(OSError):
        parent.rmdir()
    return None


def _candidates(controller: str) -> list[tuple[Path, bool]]:
    """This process's own cgroup in the v1 hierarchy of ``controller``, then in the v2 one."""
    try:
        own = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines())
        mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    own_by_controller = {ctrl: path for ctrls, path in own.items() for ctrl in ctrls.split(",")}
    v1: Path | None = None
    v2: Path | None = None
    for line in mountinfo:
        left, _, right = line.partition(" - ")
        fields, (fstype, _source, options) = left.split(), right.split()[:3]
        root, mountpoint = fields[3], fields[4]
        if fstype == "cgroup" and controller in options.split(",") and v1 is None:
            own_path = own_by_controller.get(controller)
            if own_path is not None and not (relative := os.path.relpath(own_path, root)).startswith(".."):
                v1 = Path(mountpoint) / relative
        elif fstype == "cgroup2" and v2 is None and (own_path := own.get("")) is not None:
            relative = os.path.relpath(own_path, root)
            v2 = None if relative.startswith("..") else Path(mountpoint) / relative
    return [(path, is_v2) for path, is_v2 in ((v1, False), (v2, True)) if path is not None]


# Cgroups whose sandbox was reaped while the kernel still tore down its PID namespace (the outer bwrap exits
# before its inner init is gone), to remove on the next sweep.
_busy: set[Path] = set()


def _remove(path: Path) -> None:
    try:
        path.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        _busy.add(path)


def _sweep_stale(parent: Path) -> None:
    """Remove cgroups left busy at release, and old ones of sandboxes never reaped (a crashed worker).

    A cgroup that still holds a process refuses rmdir, so neither can remove one in use; the age guard keeps
    the sweep off a cgroup another platform process has just made and not yet joined.
    """
    for path in list(_busy):
        with contextlib.suppress(OSError):
            path.rmdir()
        if not path.exists():
            _busy.discard(path)
    cutoff = time.time() - _STALE_SECONDS
    with contextlib.suppress(OSError):
        for child in parent.iterdir():
            with contextlib.suppress(OSError):
                if child.is_dir() and child.stat().st_mtime < cutoff:
                    child.rmdir()


def status() -> dict[str, str]:
    """Each controller: ``v1``/``v2`` where sandboxes get their own cgroup, else ``unavailable``."""
    found = hierarchies()
    return {c: ("v2" if found[c].v2 else "v1") if c in found else "unavailable" for c in CONTROLLERS}
