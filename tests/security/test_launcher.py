"""The launcher boundary: nothing a tenant sets in its environment reaches a process on the host side.

bwrap is not setuid on Debian, so its own dynamic loader obeys LD_* variables: if a job's environment were
bwrap's, ``LD_DEBUG_OUTPUT`` would make the loader write a file *on the host* (and ``LD_PRELOAD`` would run a
library there). The sandbox delivers the variables inside instead, and the API refuses loader and libc
variables outright.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyrun_web import sandbox
from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import SandboxSpec
from tests.jobs.conftest import make_workspace
from tests.security.sandboxes import needs_bwrap, run_python
from tests.tenants import TenantTest


@pytest.fixture
def workdir(tmp_path):
    path = tmp_path / "ws"
    path.mkdir()
    return path


@needs_bwrap
def test_loader_variables_leave_no_marker_on_the_host(workdir, tmp_path):
    marker = tmp_path / "host-marker"
    env = {"LD_DEBUG": "files", "LD_DEBUG_OUTPUT": str(marker), "JOB_SECRET": "tenant-value"}
    result = run_python(workdir, "import os; print(os.environ['JOB_SECRET'])", env=env)
    assert result.returncode == 0, result.stderr
    assert "tenant-value" in result.stdout.splitlines()  # the variables did reach the sandboxed process
    assert not list(tmp_path.glob("host-marker*"))  # ... and the host-side loader never saw them


@needs_bwrap
def test_bwraps_own_environment_and_command_line_hold_nothing_of_the_job(workdir):
    python = str(Path(sys.base_prefix) / "bin" / "python3")
    secret = "s3cr3t-tenant-value-" + str(time.monotonic_ns())
    spec = SandboxSpec(argv=[python, "-c", "import time; time.sleep(10)"], workdir=workdir, env={"TOKEN": secret})
    process = sandbox.popen(spec, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        environ = Path(f"/proc/{process.pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    finally:
        process.kill_all()
        process.wait()
    assert secret.encode() not in environ and b"TOKEN" not in environ
    assert secret.encode() not in cmdline
    assert sorted(part.split(b"=")[0] for part in environ.split(b"\0") if part) == [b"LANG", b"PATH"]


def test_without_bwrap_no_code_runs(workdir, monkeypatch, settings):
    """``make up`` on a machine without bubblewrap: the platform refuses instead of running code in the open."""
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    settings.PYRUN_UNSAFE_SINGLE_USER = False
    with pytest.raises(PyrunError) as caught:
        sandbox.popen(SandboxSpec(argv=["/bin/true"], workdir=workdir))
    assert caught.value.id == "sandbox:platform:bwrap-missing"


class TestRunEnvironment(TenantTest):
    @pytest.mark.parametrize(
        "name", ["LD_PRELOAD", "LD_AUDIT", "LD_DEBUG_OUTPUT", "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "LD_PROFILE"]
    )
    def test_loader_and_libc_variables_are_refused_with_their_name(self, name):
        workspace = make_workspace(self.t, {"main.py": "print(1)\n"})
        response = self.api("member").post(
            f"/api/v1/workspaces/{workspace.pk}/runs/",
            {"entrypoint": "main.py", "env": {name: "/tmp/evil"}},
            format="json",
        )
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["error"]["id"] == "job:user:bad-env"
        assert name in body["error"]["message"]

    def test_ordinary_variables_and_the_library_path_are_accepted(self):
        workspace = make_workspace(self.t, {"main.py": "print(1)\n"})
        response = self.api("member").post(
            f"/api/v1/workspaces/{workspace.pk}/runs/",
            {"entrypoint": "main.py", "env": {"MY_SETTING": "1"}},
            format="json",
        )
        assert response.status_code == 201, response.content


def test_an_image_built_before_env_checks_gives_jobs_and_terminals_no_loader_variable():
    from runtimes.models import Runtime

    runtime = Runtime(extra={"image_env": {"LD_PRELOAD": "/evil.so", "GCONV_PATH": "/x", "PATH": "/opt/venv/bin"}})
    assert runtime.image_env == {"PATH": "/opt/venv/bin"}
