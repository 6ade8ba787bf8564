"""The terminal's python and pip are the workspace runtime's (issue 18, point 8), over the real websocket: `pip`
names the runtime, `pip install` says where packages belong instead of "succeeding" somewhere the runtime never
looks, `pip install --overlay` installs for the session only, and nothing a terminal does writes into the shared
runtime."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyrun_web import sandbox
from tests.runtimes.conftest import SIX, inline_builds, write_env  # noqa: F401 (inline_builds is a fixture)
from tests.tenants import TenantTest
from tests.workspaces.test_terminal import Server, open_terminal, read_until, run_command, uvicorn
from workspaces.models import Workspace
from workspaces.terminal import ShellRuntime, ShellSession

pytestmark = pytest.mark.skipif(sandbox.bwrap_executable() is None, reason="bwrap (Debian bubblewrap) not installed")

PROBE = "pyrun_overlay_probe"


@pytest.fixture(scope="module")
def server(django_db_setup, redis_server) -> Iterator[Server]:
    with uvicorn() as running:
        yield running


def make_wheel(folder: Path) -> Path:
    """A one-module pure-Python wheel, so `pip install` needs no index (and no network)."""
    files = {
        f"{PROBE}.py": b"WHERE = __file__\n",
        f"{PROBE}-0.1.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {PROBE}\nVersion: 0.1\n".encode(),
        f"{PROBE}-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{PROBE}-0.1.dist-info/RECORD,,")
    path = folder / f"{PROBE}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{PROBE}-0.1.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def tree(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.usefixtures("transactional_db")
class TestTerminalPip(TenantTest):
    @pytest.fixture(autouse=True)
    def _workspace(self, tenants) -> None:
        org = tenants.org
        self.workspace = Workspace.objects.create(org=org, name="Pip", slug=Workspace.unique_slug(org, "Pip"))
        self.workspace.path.mkdir(parents=True)

    def test_without_a_ready_runtime_the_banner_says_so(self, server):
        async def scenario():
            async with open_terminal(server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                greeting = await read_until(ws, r"[#$] $")
                assert "no runtime of this workspace is ready" in greeting
                assert "pip of the PyRun terminal for the platform's default interpreter" in await run_command(
                    ws, "pip --version"
                )

        asyncio.run(scenario())

    @pytest.mark.slow
    @pytest.mark.usefixtures("inline_builds")
    def test_python_and_pip_are_the_runtime_and_installs_never_reach_it(self, server):
        from runtimes.services import ensure_workspace_runtime

        write_env(self.workspace, SIX)
        runtime = ensure_workspace_runtime(self.workspace.spec_source(), user=self.t.owner)
        runtime.refresh_from_db()
        assert runtime.state == "ready", runtime.error
        prefix = Path(runtime.prefix).resolve()
        before = tree(prefix)
        make_wheel(self.workspace.path)
        site = next(prefix.glob("lib/python*/site-packages"))

        async def scenario():
            async with open_terminal(server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                greeting = await read_until(ws, r"[#$] $")
                assert f"runtime {runtime.pk} ({prefix})" in greeting
                sys_prefix = await run_command(ws, "python -c 'import sys; print(sys.prefix)'")
                assert sys_prefix == f"{prefix}\r\n"
                # The shim lives in the sandbox's own folder: PATH names no folder of the platform's code.
                path = await run_command(ws, "command -v pip pip3; echo $PATH")
                assert path.startswith("/opt/pyrun/bin/pip\r\n/opt/pyrun/bin/pip3\r\n/opt/pyrun/bin:"), path
                assert "workspaces" not in path
                version = await run_command(ws, "pip --version; pip3 --version")
                assert version.count(f"pip of the PyRun terminal for runtime {runtime.pk}: {prefix} (python") == 2

                refused = await run_command(ws, "pip install six; echo exit=$?")
                assert ".pyrun/environment.yml" in refused
                assert "pip install --overlay" in refused
                assert refused.endswith("exit=1\r\n")

                # Tries to write into the shared runtime: the folder is read-only, whichever pip is used.
                base_pip = "$(python -c 'import sys; print(sys.base_prefix)')/bin/python3 -m pip"
                hostile = await run_command(
                    ws,
                    f"{base_pip} install --no-index --no-deps --target {site} /workspace/{PROBE}-0.1-py3-none-any.whl"
                    f" >/dev/null 2>&1; echo pip=$?; touch {prefix}/x 2>/dev/null; echo touch=$?",
                )
                assert "pip=0" not in hostile and "touch=0" not in hostile, hostile

                installed = await run_command(
                    ws, f"pip install --overlay --no-index /workspace/{PROBE}-0.1-py3-none-any.whl 2>&1 | tail -n 1"
                )
                assert "for this terminal session only" in installed, installed
                where = await run_command(ws, f"python -c 'import {PROBE}; print({PROBE}.WHERE)'")
                assert where == f"/tmp/pip-overlay/{PROBE}.py\r\n"

        asyncio.run(scenario())
        assert tree(prefix) == before  # nothing written into the runtime
        assert not (self.workspace.path / f"{PROBE}.py").exists()


def test_an_images_pythonpath_stays_after_the_overlay(tmp_path):
    """An image runtime's ENV PYTHONPATH keeps working: the session's overlay only goes before it."""
    runtime = ShellRuntime(prefixes=[sandbox.default_runtime_prefix()], env={"PYTHONPATH": "/image/lib"}, name="x")

    async def scenario() -> str:
        session = ShellSession(tmp_path, sandbox.ResourceLimits(), 80, 24, runtime)
        output = b""
        try:
            session.pending += b"echo PP=$PYTHONPATH; exit\r"
            session.write_pending()
            deadline = time.monotonic() + 30
            while b"PP=/" not in output or not output.rstrip().endswith(b"exit"):
                chunk = session.read()
                if chunk == b"" or time.monotonic() > deadline:
                    break
                output += chunk or b""
                await asyncio.sleep(0.05)
        finally:
            await session.close()
        return output.decode(errors="replace")

    assert "PP=/tmp/pip-overlay:/image/lib\r\n" in asyncio.run(scenario())
