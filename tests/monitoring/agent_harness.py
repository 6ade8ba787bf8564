"""Helpers for the agent's tests and bench: a runner-side socket that parses what the agent sends, and real scripts
run in a clean environment with the agent injected the way the runner injects it."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from monitoring import wire

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "monitoring" / "agent"


def lithops_config(worker_processes: int = 2, data_cleaner: bool = True) -> str:
    # An absolute interpreter and localhost v1: v2 starts one interpreter per task (1,000 no-op tasks: 318 s).
    # Lithops' data cleaner runs on in a session of its own after the script: tests turn it off.
    return json.dumps({
        "lithops": {"backend": "localhost", "storage": "localhost", "log_level": "WARNING",
                    "data_cleaner": data_cleaner},
        "localhost": {"runtime": sys.executable, "version": 1, "worker_processes": worker_processes},
    })  # fmt: skip


# An event as these tests read it: the runner's event (``monitoring.wire.Event``) as a dict, without its seq.
Event = dict[str, Any]
_EVENT_FIELDS = tuple(name for name in wire.Event.__struct_fields__ if name != "seq")


def parse_line(line: bytes) -> tuple[list[Event], int]:
    """The events of one line, read by :func:`monitoring.wire.decode_line` as the runner reads them, and how many
    of its items were rejected."""
    events, rejected = wire.decode_line(line)
    return [{name: getattr(event, name) for name in _EVENT_FIELDS} for event in events], rejected


@dataclass
class Line:
    at: float  # time.time() when the listener read it
    events: list[Event]
    rejected: int


class Listener:
    """The runner's end of ``PYRUN_AGENT_SOCKET``: accepts every connection and parses each line with
    :func:`parse_line`, as the runner does."""

    def __init__(self) -> None:
        # /tmp: a Unix socket path must fit in 107 bytes.
        self.directory = Path(tempfile.mkdtemp(prefix="pyrun-agent-test-", dir="/tmp"))
        self.path = self.directory / "agent.sock"
        self.lines: list[Line] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(64)
        self._server.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._server, selectors.EVENT_READ, None)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buffers: dict[socket.socket, bytearray] = {}
        while not self._stopped:
            for key, _ in self._selector.select(0.05):
                if key.data is None:
                    conn, _ = self._server.accept()
                    conn.setblocking(False)
                    buffers[conn] = bytearray()
                    self._selector.register(conn, selectors.EVENT_READ, True)
                    self.connections += 1
                    continue
                conn = key.fileobj
                try:
                    chunk = conn.recv(256 * 1024)
                except BlockingIOError:
                    continue
                buffer = buffers[conn]
                buffer += chunk
                *complete, rest = bytes(buffer).split(b"\n")
                buffers[conn] = bytearray(rest)
                now = time.time()
                parsed = [Line(now, *parse_line(line)) for line in complete if line]
                with self._lock:
                    self.lines.extend(parsed)
                if not chunk:
                    if rest:  # a line cut off by a dying process: malformed for the runner too
                        with self._lock:
                            self.lines.append(Line(now, [], 1))
                    self._selector.unregister(conn)
                    del buffers[conn]
                    conn.close()
        for conn in buffers:
            conn.close()

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return [event for line in self.lines for event in line.events]

    @property
    def rejected(self) -> int:
        with self._lock:
            return sum(line.rejected for line in self.lines)

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.events):
                return True
            time.sleep(0.01)
        return predicate(self.events)

    def settle(self, quiet: float = 0.2, timeout: float = 5) -> None:
        """Wait until nothing new arrived for ``quiet`` seconds (a process's last flush follows its exit closely)."""
        deadline = time.monotonic() + timeout
        count = -1
        while time.monotonic() < deadline:
            with self._lock:
                now = len(self.lines)
            if now == count:
                return
            count = now
            time.sleep(quiet)

    def close(self) -> None:
        self._stopped = True
        self._thread.join(5)
        self._selector.close()
        self._server.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class Sandbox:
    """A private HOME and TMPDIR for one run (Lithops writes under both)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pyrun-agent-run-")))

    def env(self, socket_path: str | None, extra: dict[str, str] | None = None, agent: bool = True) -> dict[str, str]:
        home, tmp = self.root / "home", self.root / "tmp"
        home.mkdir(exist_ok=True)
        tmp.mkdir(exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "TMPDIR": str(tmp),
               "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
        if agent:
            env["PYTHONPATH"] = str(AGENT_DIR)
        if socket_path is not None:
            env["PYRUN_AGENT_SOCKET"] = socket_path
        env.update(extra or {})
        return env

    def write(self, name: str, code: str) -> Path:
        path = self.root / name
        path.write_text(code)
        return path

    def leftovers(self) -> list[int]:
        """Processes still running with this sandbox's HOME/TMPDIR: what Lithops starts in new sessions (its
        runner, its cleaner) outlives the script for a moment."""
        marker = f"TMPDIR={self.root / 'tmp'}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/environ", "rb") as environ:
                        if marker in environ.read().split(b"\0"):
                            found.append(int(entry))
                except OSError:
                    continue
        return found

    def wait_for_leftovers(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.05)

    def cleanup(self) -> None:
        for pid in self.leftovers():  # descendants of the script we ran, out of its session
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def run(script: Path, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``script`` with this interpreter; whatever Lithops leaves behind in the session is killed after."""
    process = subprocess.Popen([sys.executable, str(script)], cwd=cwd or script.parent, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        kill_session(process)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def kill_session(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(10)


def by_key(events: list[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for event in events:
        out.setdefault(event["key"], []).append(event)
    return out


def overlaps(events: list[Event], slack: float = 0.0) -> list[tuple[Event, Event]]:
    """Pairs of ended bars of one lane that overlap in time by more than ``slack`` seconds."""
    lanes: dict[str, list[Event]] = {}
    for event in events:
        if event["end"] is not None:
            lanes.setdefault(event["lane"], []).append(event)
    found = []
    for bars in lanes.values():
        bars.sort(key=lambda e: (e["start"], e["end"]))
        found += [(a, b) for a, b in itertools.pairwise(bars) if b["start"] < a["end"] - slack]
    return found


# -- Fixtures of the agent's own tests: no Django database or Redis, only the agent and its wire format ----------


@pytest.fixture(scope="session", autouse=True)
def redis_server():  # tests/conftest.py's starts a Redis: not needed here
    yield


@pytest.fixture(autouse=True)
def _clean_cache():  # tests/conftest.py's clears the cache in Redis
    yield


@pytest.fixture
def listener():
    with Listener() as listener:
        yield listener


@pytest.fixture
def sandbox():
    sandbox = Sandbox()
    yield sandbox
    sandbox.cleanup()


def agent_test_fixtures(namespace: dict) -> None:
    """Give an agent test module the fixtures above rather than copies. Pytest finds fixtures by name in a module's
    namespace, so the call goes at that module's top."""
    for name in ("redis_server", "_clean_cache", "listener", "sandbox"):
        namespace[name] = globals()[name]
