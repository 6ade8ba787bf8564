"""How a sandbox starts (no preexec_fn: bwrap and its child are confined while the child waits on --block-fd):
the command's first instruction already runs with every rlimit and inside the sandbox's cgroup, whatever the
network mode."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil
import pytest

from pyrun_web import sandbox
from pyrun_web.sandbox import ResourceLimits, SandboxSpec, cgroups

pytestmark = pytest.mark.skipif(sandbox.bwrap_executable() is None, reason="bwrap (Debian bubblewrap) not installed")

LIMITS = ResourceLimits(
    memory_bytes=700 * 1024**2, max_processes=40, file_bytes=5 * 1024**2, cpu_seconds=60, tmpfs_bytes=64 * 1024**2
)


def _limits_table(text: str) -> dict[str, tuple[str, str]]:
    """/proc/PID/limits: name -> (soft, hard)."""
    rows = {}
    for line in text.splitlines()[1:]:
        name, soft, hard = line[:26].strip(), *line[26:].split()[:2]
        rows[name] = (soft, hard)
    return rows


@pytest.mark.parametrize("mode", ["filtered", "none"])
def test_the_commands_first_instruction_runs_with_every_rlimit(tmp_path: Path, settings, mode: str):
    settings.PYRUN_SANDBOX_NETWORK = mode
    # `cat` reads its own limits: what it sees is what the command had from its start (exec keeps rlimits).
    process = sandbox.popen(
        SandboxSpec(argv=["cat", "/proc/self/limits"], workdir=tmp_path, limits=LIMITS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=60)
    finally:
        process.kill_all()
        process.wait()
    assert process.returncode == 0, err
    table = _limits_table(out)
    assert table["Max core file size"] == ("0", "0")
    assert table["Max address space"] == (str(700 * 1024**2), str(700 * 1024**2))
    assert table["Max file size"] == (str(5 * 1024**2), str(5 * 1024**2))
    assert table["Max cpu time"] == ("60", "65")


@pytest.mark.parametrize("mode", ["filtered", "none"])
def test_every_process_of_the_sandbox_is_in_its_cgroup(tmp_path: Path, settings, mode: str):
    if "pids" not in cgroups.hierarchies():
        pytest.skip("no writable pids cgroup here")
    settings.PYRUN_SANDBOX_NETWORK = mode
    process = sandbox.popen(SandboxSpec(argv=["sh", "-c", "sleep 30 & sleep 30"], workdir=tmp_path, limits=LIMITS))
    try:
        assert process.cgroup is not None
        name = process.cgroup.path("pids").name
        bwrap = psutil.Process(process.pid)
        deadline = time.monotonic() + 30
        while len(bwrap.children(recursive=True)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)  # bwrap's init, its command's init, sh and the two sleeps
        tree = [bwrap, *bwrap.children(recursive=True)]
        assert len(tree) >= 4
        outside = [p.pid for p in tree if name not in Path(f"/proc/{p.pid}/cgroup").read_text()]
        assert outside == []
        assert int((process.cgroup.path("pids") / "pids.current").read_text()) == len(tree)
    finally:
        process.kill_all()
        process.wait()
