"""`make up` end to end: the real launcher with the embedded defaults (SQLite, embedded Redis)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(PYRUN_DATA_DIR=str(data_dir), PYRUN_PORT=str(port), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "pyrun_web.launcher", "up"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("data dir:"):
            return process, "".join(output)
    process.kill()
    raise AssertionError("launcher did not finish starting:\n" + "".join(output))


def _stop(process: subprocess.Popen) -> list[psutil.Process]:
    children = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    _, alive = psutil.wait_procs(children, timeout=10)
    return alive


def _health(base: str) -> dict:
    deadline = time.monotonic() + 40  # beat's first tick and a worker reply can take a few seconds
    while True:
        body = httpx.get(f"{base}/api/v1/health/", timeout=5).json()
        if body["status"] == "ok" or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_up_serves_login_and_health_stops_cleanly_and_keeps_data(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process, banner = _start(tmp_path, port)
    try:
        login = re.search(r"login: (\S+) / (\S+)", banner)
        token = re.search(r"API token \(shown once\): (\S+)", banner)
        assert login and token, banner
        assert f"PyRun Web is at {base}/" in banner
        assert httpx.get(f"{base}/login/").status_code == 200
        assert _health(base)["status"] == "ok"
        me = httpx.get(f"{base}/api/v1/me/", headers={"Authorization": f"Token {token.group(1)}"}).json()
        assert me["user"]["email"] == login.group(1)
    finally:
        leftovers = _stop(process)
    assert process.returncode == 0
    assert leftovers == []

    # Second start on the same data dir: same demo account, the first token still works, no new token.
    process, banner = _start(tmp_path, port)
    try:
        assert f"login: {login.group(1)} / {login.group(2)}" in banner
        assert "shown once" not in banner
        me = httpx.get(f"{base}/api/v1/me/", headers={"Authorization": f"Token {token.group(1)}"})
        assert me.status_code == 200
    finally:
        assert _stop(process) == []
