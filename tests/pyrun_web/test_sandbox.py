"""The sandbox with real bwrap and real processes: what user code can see, write, spawn and survive."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from pyrun_web import sandbox
from pyrun_web.sandbox import ResourceLimits, SandboxSpec

pytestmark = pytest.mark.skipif(sandbox.bwrap_executable() is None, reason="bwrap (Debian bubblewrap) not installed")

PLATFORM_SECRETS = {
    "SECRET_KEY": "platform-secret-key",
    "DATABASE_URL": "postgres://pyrun:hunter2@db/pyrun",
    "REDIS_URL": "redis://:hunter2@redis:6379/0",
    "AWS_ACCESS_KEY_ID": "AKIAPLATFORM",
    "AWS_SECRET_ACCESS_KEY": "platform-aws-secret",
    "FIELD_ENCRYPTION_KEY": "platform-fernet-key",
    "PYRUN_DATA_DIR": "/somewhere",
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def run(spec: SandboxSpec, timeout: float = 60) -> subprocess.CompletedProcess:
    process = sandbox.popen(spec, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        process.kill_all()
        process.wait()
    return subprocess.CompletedProcess(spec.argv, process.returncode, out, err)


def sh(workdir: Path, script: str, **spec) -> subprocess.CompletedProcess:
    return run(SandboxSpec(argv=["/bin/sh", "-c", script], workdir=workdir, **spec))


def python(workdir: Path, code: str, **spec) -> subprocess.CompletedProcess:
    return run(SandboxSpec(argv=["python", "-c", code], workdir=workdir, **spec))


def processes_with(cmdline: list[str]) -> list[psutil.Process]:
    return [proc for proc in psutil.process_iter(["cmdline"]) if proc.info["cmdline"] == cmdline]


def wait_until(predicate, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_python_runs_inside(workdir):
    result = sh(workdir, "python -c 'print(1+1)'")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2\n"


def test_default_interpreter_is_the_platform_base_install(workdir):
    result = python(workdir, "import sys; print(sys.base_prefix)")
    assert result.stdout.strip() == sys.base_prefix


def test_environment_is_only_the_spec(workdir, monkeypatch):
    for name, value in PLATFORM_SECRETS.items():
        monkeypatch.setenv(name, value)
    result = python(workdir, "import json, os; print(json.dumps(dict(os.environ)))", env={"JOB": "1"})
    assert result.returncode == 0, result.stderr
    inside = json.loads(result.stdout)
    for name, value in PLATFORM_SECRETS.items():
        assert name not in inside
        assert value not in result.stdout
    assert inside == {
        "HOME": sandbox.HOME,
        "TMPDIR": sandbox.TMPDIR,
        "PATH": f"{sys.base_prefix}/bin:{sandbox.SYSTEM_PATH}",
        "LANG": "C.UTF-8",
        "JOB": "1",
        "PWD": sandbox.WORKDIR,  # bwrap --chdir sets it
    }


def test_secrets_stay_off_the_command_line(workdir):
    spec = SandboxSpec(argv=["true"], workdir=workdir, env={"LITHOPS_CONFIG": "aws-secret-in-config"})
    assert "aws-secret-in-config" not in " ".join(sandbox.build_argv(spec))


def test_data_dir_database_and_other_directories_are_invisible(workdir, tmp_path):
    probe = Path(settings.DATA_DIR) / f"probe-{uuid.uuid4().hex}.txt"
    probe.write_text("platform data")
    other = tmp_path / "other-workspace"
    other.mkdir()
    (other / "secret.txt").write_text("someone else's file")
    database = settings.DATABASES["default"]["NAME"]
    try:
        for path in (probe, other / "secret.txt", settings.DATA_DIR, other, database, settings.BASE_DIR):
            result = sh(workdir, f"cat '{path}' || ls '{path}'")
            assert result.returncode != 0, f"{path} is visible: {result.stdout}"
            assert "platform data" not in result.stdout and "someone else" not in result.stdout
    finally:
        probe.unlink()


def test_workspace_is_writable_and_shared_with_the_host(workdir):
    (workdir / "from-host.txt").write_text("hello from the host\n")
    result = sh(workdir, "cat from-host.txt && pwd && echo written-inside > /workspace/out.txt && mkdir sub")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hello from the host", sandbox.WORKDIR]
    assert (workdir / "out.txt").read_text() == "written-inside\n"
    assert (workdir / "sub").is_dir()


def test_system_is_read_only(workdir):
    result = sh(workdir, "touch /usr/x || touch /x || touch /etc/passwd || echo denied")
    assert result.stdout.strip() == "denied"


def test_tmp_and_home_are_private(workdir):
    marker = f"pyrun-host-{uuid.uuid4().hex}"
    host_file = Path("/tmp") / marker
    host_file.write_text("host")
    try:
        result = sh(workdir, f"ls /tmp; echo inside > /tmp/{marker}-inside && echo inside > $HOME/h && cat $HOME/h")
        assert result.returncode == 0, result.stderr
        assert marker not in result.stdout.replace(f"{marker}-inside", "")
        assert result.stdout.strip().endswith("inside")
        assert not (Path("/tmp") / f"{marker}-inside").exists()
    finally:
        host_file.unlink()


def test_killing_the_top_process_kills_every_descendant(workdir):
    marker = str(3_000_000 + os.getpid() % 1000)
    code = (
        "import subprocess, time\n"
        f"subprocess.Popen(['sleep', '{marker}'])\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"  # escapes a process-group kill
        f"subprocess.Popen(['/bin/sh', '-c', 'setsid sleep {marker} & wait'])\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n"
    )
    process = sandbox.popen(
        SandboxSpec(argv=["python", "-c", code], workdir=workdir), stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == "started\n"
        assert wait_until(lambda: len(processes_with(["sleep", marker])) == 3)
        process.kill()  # only the top process (the outer bwrap), not its group
        process.wait(10)
        assert wait_until(lambda: not processes_with(["sleep", marker])), processes_with(["sleep", marker])
    finally:
        process.kill_all()
        process.wait()


def test_memory_limit_makes_a_big_allocation_fail(workdir):
    code = "try:\n    b = bytearray(1024**3)\n    print('allocated')\nexcept MemoryError:\n    print('MemoryError')"
    limited = python(workdir, code, limits=ResourceLimits(memory_bytes=512 * 1024**2))
    assert limited.stdout.strip() == "MemoryError", limited.stderr
    unlimited = python(workdir, code)
    assert unlimited.stdout.strip() == "allocated"


def test_process_limit_stops_a_fork_loop(workdir):
    code = (
        "import subprocess\n"
        "children, failures = [], 0\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        children.append(subprocess.Popen(['sleep', '60']))\n"
        "    except OSError:\n"
        "        failures += 1\n"
        "print(len(children), failures)\n"
        "for child in children:\n"
        "    child.kill()\n"
        "    child.wait()\n"
    )
    result = python(workdir, code, limits=ResourceLimits(max_processes=30))
    assert result.returncode == 0, result.stderr
    started, failures = map(int, result.stdout.split())
    assert started < 30
    assert failures == 200 - started


def test_pids_cgroups_are_removed_once_sandboxes_end(workdir):
    limits = ResourceLimits(max_processes=30)
    ended = []
    for _ in range(3):
        process = sandbox.popen(SandboxSpec(argv=["true"], workdir=workdir, limits=limits))
        process.wait(30)
        if process.pids_cgroup is None:
            pytest.skip("no writable pids cgroup here")
        ended.append(process.pids_cgroup)
        time.sleep(0.2)
    # A cgroup still busy when its sandbox was reaped goes on the next start.
    run(SandboxSpec(argv=["true"], workdir=workdir, limits=limits))
    assert not [path for path in ended if path.exists()]


def test_file_size_limit(workdir):
    result = sh(workdir, "head -c 2000000 /dev/zero > big; echo $?", limits=ResourceLimits(file_bytes=1_000_000))
    assert result.stdout.strip() != "0"
    assert (workdir / "big").stat().st_size <= 1_000_000


def test_extra_read_only_binds_appear_at_the_same_path(workdir, tmp_path):
    tool = tmp_path / "agent"
    tool.mkdir()
    (tool / "agent.py").write_text("print('agent')")
    result = sh(workdir, f"python {tool}/agent.py && touch {tool}/x || echo read-only", ro_binds=[tool])
    assert result.stdout.split() == ["agent", "read-only"]


def test_binds_that_would_expose_the_data_dir_are_refused(workdir):
    for path in (Path(settings.DATA_DIR), Path(settings.DATA_DIR).parent):
        with pytest.raises(ValueError, match="expose"):
            sandbox.build_argv(SandboxSpec(argv=["true"], workdir=workdir, ro_binds=[path]))
    with pytest.raises(ValueError, match="expose"):
        sandbox.build_argv(SandboxSpec(argv=["true"], workdir=Path(settings.DATA_DIR)))


def test_without_bwrap_the_single_user_opt_out_falls_back_with_a_warning(workdir, monkeypatch, settings, caplog):
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    sandbox._warn_once.cache_clear()
    settings.PYRUN_UNSAFE_SINGLE_USER = True
    for name, value in PLATFORM_SECRETS.items():
        monkeypatch.setenv(name, value)
    with caplog.at_level(logging.WARNING, logger="pyrun_web.sandbox"):
        result = python(workdir, "import os; print(' '.join(sorted(os.environ)))")
    assert "PYRUN_UNSAFE_SINGLE_USER" in caplog.text
    assert result.stdout.split() == ["HOME", "LANG", "PATH", "TMPDIR"]


def test_each_sandbox_gets_its_own_cpu_share_and_memory_limit(workdir, settings):
    from pyrun_web.sandbox import cgroups

    found = cgroups.hierarchies()
    if "cpu" not in found or "memory" not in found:
        pytest.skip(f"no writable cpu and memory cgroups here: {cgroups.status()}")
    settings.PYRUN_SANDBOX_CPU_WEIGHT = 50
    limits = ResourceLimits(max_processes=30, memory_bytes=300 * 1024**2)
    process = sandbox.popen(SandboxSpec(argv=["sleep", "5"], workdir=workdir, limits=limits))
    try:
        cgroup = process.cgroup
        assert cgroup is not None
        cpu, memory = cgroup.path("cpu"), cgroup.path("memory")
        assert str(process.pid) in (cpu / "cgroup.procs").read_text().split()
        if found["cpu"].v2:
            assert (cpu / "cpu.weight").read_text().strip() == "50"
        else:
            assert (cpu / "cpu.shares").read_text().strip() == "512"
        limit_file = "memory.max" if found["memory"].v2 else "memory.limit_in_bytes"
        assert int((memory / limit_file).read_text()) == 300 * 1024**2
    finally:
        process.kill_all()
        process.wait()


def test_the_memory_cgroup_counts_tmpfs_writes(workdir):
    """/tmp is RAM: filling it past the job's memory is stopped by the memory cgroup, not left unbounded."""
    from pyrun_web.sandbox import cgroups

    if "memory" not in cgroups.hierarchies():
        pytest.skip("no writable memory cgroup here")
    limits = ResourceLimits(memory_bytes=200 * 1024**2, tmpfs_bytes=1024**3)
    result = sh(workdir, "head -c 400000000 /dev/zero > /tmp/fill; echo exit=$?", limits=limits)
    assert "exit=0" not in result.stdout


def test_the_start_up_line_says_what_is_missing_and_that_code_will_be_refused(monkeypatch, settings):
    settings.PYRUN_UNSAFE_SINGLE_USER = False
    assert sandbox.describe().startswith("sandbox: ok (bwrap, filtered network")
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    line = sandbox.describe()
    assert "missing bwrap (Debian package bubblewrap)" in line and "will be REFUSED" in line
