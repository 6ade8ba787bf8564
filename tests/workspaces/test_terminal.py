"""The workspace terminal over a real websocket, served by a real uvicorn process on the test database."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from django.test import Client
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from pyrun_web import sandbox
from pyrun_web.launcher import web_argv
from pyrun_web.tenancy.models import Membership, Role
from tests.conftest import free_port, worker_env
from tests.runtimes.conftest import SIX, inline_builds, write_env  # noqa: F401 (inline_builds is a fixture)
from tests.tenants import TenantTest
from workspaces.models import Workspace

pytestmark = pytest.mark.skipif(sandbox.bwrap_executable() is None, reason="bwrap (Debian bubblewrap) not installed")

TIMEOUT = 20


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    def url(self, workspace_id: object, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/ws/workspaces/{workspace_id}/terminal/{query}"

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)


@contextmanager
def uvicorn(extra_env: dict | None = None) -> Iterator[Server]:
    port = free_port()
    # The launcher's own command line (websockets-sansio, no lifespan), as `make up` serves the app.
    process = subprocess.Popen([*web_argv("127.0.0.1", port), "--log-level", "warning"], env=worker_env(extra_env))
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Server(process, port)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(django_db_setup, redis_server) -> Iterator[Server]:
    with uvicorn() as running:
        yield running


def open_terminal(server: Server, workspace_id: object, *, key: str | None = None, query: str = "", headers=None):
    headers = dict(headers or {})
    if key is not None:
        headers["Authorization"] = f"Token {key}"
    return connect(server.url(workspace_id, query), additional_headers=headers, proxy=None, open_timeout=TIMEOUT)


async def send_input(ws: ClientConnection, data: str) -> None:
    await ws.send(json.dumps({"type": "input", "data": data}))


async def read_until(ws: ClientConnection, pattern: str) -> str:
    """Output frames joined until ``pattern`` (a regex) matches; fails on exit or timeout."""
    output = ""
    deadline = time.monotonic() + TIMEOUT
    while not re.search(pattern, output):
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} in {output!r}") from None
        assert frame["type"] == "output", (frame, output)
        output += frame["data"]
    return output


async def run_command(ws: ClientConnection, command: str) -> str:
    """Run ``command`` and return what it printed (between two markers, so the echoed input is not in it)."""
    marker = uuid.uuid4().hex[:8]
    await send_input(ws, f"echo {marker}-''start; {command}; echo {marker}-''end\r")
    output = await read_until(ws, f"{marker}-end\r\n")
    return output.split(f"{marker}-start\r\n", 1)[1].split(f"{marker}-end\r\n", 1)[0]


async def close_code(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    return closed.value.rcvd.code, closed.value.rcvd.reason


def wait_until(predicate, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.usefixtures("transactional_db")
class TestTerminal(TenantTest):
    @pytest.fixture(autouse=True)
    def _workspaces(self, tenants) -> None:
        self.workspace = self.make_workspace(tenants.org, "Analysis")
        self.other_workspace = self.make_workspace(tenants.other_org, "Secret plans")

    @staticmethod
    def make_workspace(org, name: str) -> Workspace:
        workspace = Workspace.objects.create(org=org, name=name, slug=Workspace.unique_slug(org, name))
        workspace.path.mkdir(parents=True)
        return workspace

    def test_member_runs_shell_commands_and_python(self, server):
        (self.workspace.path / "main.py").write_text("print('from main')\n")

        async def scenario():
            async with open_terminal(server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                greeting = await read_until(ws, r"[#$] $")
                assert "no job control" not in greeting
                await send_input(ws, "echo hello-$((40+2))\r")
                await read_until(ws, r"hello-42\r\n")
                await send_input(ws, 'python -c "print(6*7)"\r')
                await read_until(ws, r"[\r\n]42\r\n")
                assert await run_command(ws, "pwd && python main.py") == "/workspace\r\nfrom main\r\n"
                assert await run_command(ws, "echo inside > made-here.txt") == ""
                await send_input(ws, "exit 3\r")
                frames = []
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        frames.append(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))
                assert frames[-1] == {"type": "exit", "code": 3}
                assert closed.value.rcvd.code == 1000

        asyncio.run(scenario())
        assert (self.workspace.path / "made-here.txt").read_text() == "inside\n"
        assert wait_until(lambda: not server.descendants())

    @pytest.mark.slow
    @pytest.mark.usefixtures("inline_builds")
    def test_the_shell_has_the_workspace_runtime_on_path(self, server):
        from runtimes.services import ensure_workspace_runtime

        write_env(self.workspace, SIX)
        runtime = ensure_workspace_runtime(self.workspace.spec_source(), user=self.t.owner)
        runtime.refresh_from_db()
        assert runtime.state == "ready", runtime.error

        async def scenario():
            async with open_terminal(server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                await read_until(ws, r"[#$] $")
                assert await run_command(ws, "python -c 'import six; print(six.__name__)'") == "six\r\n"
                assert await run_command(ws, "command -v python") == f"{Path(runtime.prefix).resolve()}/bin/python\r\n"

        asyncio.run(scenario())

    @pytest.mark.slow
    @pytest.mark.usefixtures("inline_builds")
    def test_the_shell_of_a_dockerfile_workspace_runs_in_the_image(self, server):
        from runtimes.services import ensure_workspace_runtime
        from tests.runtimes.test_docker_builder import BASE_IMAGE, docker_or_skip

        client = docker_or_skip()
        dockerfile = f"FROM {BASE_IMAGE}\nENV GREETING=from-the-image\nRUN echo baked > /etc/pyrun-marker\n"
        (self.workspace.path / ".pyrun").mkdir()
        (self.workspace.path / ".pyrun/Dockerfile").write_text(dockerfile)
        runtime = ensure_workspace_runtime(self.workspace.spec_source(), user=self.t.owner)
        runtime.refresh_from_db()
        try:
            assert runtime.state == "ready", runtime.error

            async def scenario():
                async with open_terminal(server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                    await read_until(ws, r"[#$] $")
                    baked = await run_command(ws, "cat /etc/pyrun-marker; echo $GREETING")
                    assert baked == "baked\r\nfrom-the-image\r\n"
                    python = "python -c 'import platform; print(platform.python_version())'"
                    assert await run_command(ws, python) == f"{runtime.python_version}\r\n"
                    assert await run_command(ws, "touch /etc/x 2>/dev/null || echo read-only") == "read-only\r\n"

            asyncio.run(scenario())
        finally:
            client.images.remove(runtime.image_uri, force=True)
            client.close()

    def test_platform_data_and_other_workspaces_are_invisible(self, server):
        probe = Path(settings.DATA_DIR) / f"probe-{uuid.uuid4().hex}"
        probe.write_text("platform data")
        (self.other_workspace.path / "plans.txt").write_text("top secret")
        targets = [probe, Path(settings.DATA_DIR), self.other_workspace.path / "plans.txt", self.other_workspace.path]
        targets.append(Path(settings.DATABASES["default"]["NAME"]))

        async def scenario():
            # The token in the query string this time, as a client that cannot set headers would send it.
            async with open_terminal(server, self.workspace.pk, query=f"?token={self.t.keys['member']}") as ws:
                await read_until(ws, r"[#$] $")
                for target in targets:
                    output = await run_command(ws, f"cat '{target}'; ls '{target}'; echo rc=$?")
                    assert "No such file or directory" in output, output
                    assert output.endswith("rc=2\r\n"), output
                    assert "platform data" not in output and "top secret" not in output
                output = await run_command(ws, "env")
                for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PYRUN_DATA_DIR", "DJANGO_SETTINGS_MODULE"):
                    assert f"{name}=" not in output

        try:
            asyncio.run(scenario())
        finally:
            probe.unlink()

    def test_session_login_works_and_may_act_in_any_of_the_users_orgs(self, server):
        Membership.objects.create(org=self.t.org, user=self.t.outsider, role=Role.MEMBER)
        client = Client()
        client.force_login(self.t.outsider)
        cookie = f"sessionid={client.cookies['sessionid'].value}"

        async def scenario():
            for workspace in (self.workspace, self.other_workspace):
                async with open_terminal(server, workspace.pk, headers={"Cookie": cookie}) as ws:
                    assert await run_command(ws, "echo $((6*7))") == "42\r\n"
            # The outsider's token acts only in the org it was issued for, though its user is a member here.
            async with open_terminal(server, self.workspace.pk, key=self.t.keys["outsider"]) as ws:
                assert await close_code(ws) == (4404, "api:user:not-found")

        asyncio.run(scenario())

    @pytest.mark.parametrize(
        ("who", "expected"),
        [
            ("viewer", (4403, "auth:user:role-required")),
            ("outsider", (4404, "api:user:not-found")),
            ("anonymous", (4401, "auth:user:unauthenticated")),
            ("bad-token", (4401, "auth:user:unauthenticated")),
        ],
    )
    def test_refusals(self, server, who, expected):
        key = {**self.t.keys, "anonymous": None, "bad-token": "pyr_0000_not-a-real-key"}[who]

        async def scenario():
            async with open_terminal(server, self.workspace.pk, key=key) as ws:
                assert await close_code(ws) == expected

        asyncio.run(scenario())

    def test_unknown_and_other_orgs_workspaces_look_the_same(self, server):
        async def scenario():
            codes = []
            for workspace_id in (self.other_workspace.pk, 999_999, "not-an-id"):
                async with open_terminal(server, workspace_id, key=self.t.keys["owner"]) as ws:
                    codes.append(await close_code(ws))
            assert codes == [(4404, "api:user:not-found")] * 3

        asyncio.run(scenario())

    def test_resize_changes_the_terminal_size(self, server):
        async def scenario():
            async with open_terminal(
                server, self.workspace.pk, key=self.t.keys["member"], query="?cols=100&rows=30"
            ) as ws:
                assert await run_command(ws, "stty size") == "30 100\r\n"
                await ws.send(json.dumps({"type": "resize", "cols": 132, "rows": 43}))
                assert await run_command(ws, "stty size") == "43 132\r\n"

        asyncio.run(scenario())

    def test_multibyte_output_split_across_reads_is_decoded_whole(self, server):
        async def scenario():
            async with open_terminal(server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                output = await run_command(ws, "python -c \"print('é€' * 40000)\"")
                assert output == "é€" * 40000 + "\r\n"

        asyncio.run(scenario())

    def test_bad_frames_get_an_error_and_the_terminal_keeps_working(self, server):
        async def scenario():
            async with open_terminal(server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                await ws.send("not json")
                error = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                while error["type"] == "output":
                    error = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                assert error["type"] == "error" and error["id"] == "terminal:user:bad-message"
                assert await run_command(ws, "echo ok") == "ok\r\n"

        asyncio.run(scenario())

    def test_closing_the_socket_kills_every_process_of_the_shell(self, server):
        marker = str(4_000_000 + uuid.uuid4().int % 1000)

        async def scenario():
            async with open_terminal(server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                await run_command(
                    ws, f"sleep {marker} & setsid sleep {marker} & nohup sleep {marker} >/dev/null 2>&1 & true"
                )
                assert wait_until(lambda: len(sleepers()) == 3)
                assert server.descendants()

        def sleepers():
            return [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", marker]]

        asyncio.run(scenario())
        assert wait_until(lambda: not server.descendants()), server.descendants()
        # Under load a killed process may still be finishing its exit (state D) for a moment.
        assert wait_until(lambda: not sleepers()), sleepers()

    def test_idle_terminal_is_closed_and_its_shell_killed(self):
        with uvicorn({"PYRUN_TERMINAL_IDLE_SECONDS": "1.5"}) as idle_server:

            async def scenario():
                async with open_terminal(idle_server, self.workspace.pk, key=self.t.keys["member"]) as ws:
                    await run_command(ws, "true")
                    assert idle_server.descendants()
                    assert await close_code(ws) == (4408, "terminal:user:idle-timeout")

            asyncio.run(scenario())
            assert wait_until(lambda: not idle_server.descendants()), idle_server.descendants()
