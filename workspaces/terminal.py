"""A shell in a workspace, over a websocket: ``/ws/workspaces/{id}/terminal/``.

Members and up get an interactive ``bash`` on a pty inside the sandbox (``pyrun_web.sandbox``), with the
workspace at ``/workspace``, the workspace's runtime on PATH (its ready runtime, else the last ready one it
used, else the platform's default interpreter; a Dockerfile runtime's shell runs in the image's filesystem, with
``/bin/sh`` when the image has no bash) and the org's limits. A first output line says which runtime that is (or
that the workspace has none ready). ``pip`` is a shim (``terminal_bin/pip``, placed at ``sandbox.TOOLS_DIR``)
first on PATH: the runtime is shared and read-only, so ``pip install`` says packages belong in
``.pyrun/environment.yml`` and ``pip install --overlay`` installs into a folder of the session's own ``/tmp`` that
is on ``PYTHONPATH``. Protocol, JSON text frames:

- client → server: ``{"type": "input", "data": "ls\\r"}``, ``{"type": "resize", "cols": 120, "rows": 40}``
  (the first size can also come as ``?cols=&rows=`` on the URL);
- server → client: ``{"type": "output", "data": "..."}``, ``{"type": "exit", "code": 0}`` when the shell
  ends (then the socket closes with 1000; a signal N reads as 128 + N), and
  ``{"type": "error", "id": ..., "message": ...}`` for a frame it could not use.

Refusals close with 4401 (anonymous), 4403 (viewer), 4404 (no such workspace in the caller's orgs). No input
for ``PYRUN_TERMINAL_IDLE_SECONDS`` closes with 4408. Whichever side ends it, the whole sandbox is killed.

Everything runs on the event loop: the pty master and a pidfd of the sandbox are watched with
``add_reader``; output is read again only once the previous frame is sent, so a slow client slows the
shell down instead of filling memory.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import json
import logging
import os
import struct
import termios
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from pyrun_web import sandbox
from pyrun_web.errors import ERRORS, PyrunError
from pyrun_web.tenancy.models import Role
from pyrun_web.ws_auth import TenantObjectConsumerMixin
from runtimes.models import Runtime
from runtimes.services import workspace_runtime_status
from workspaces.models import Workspace

logger = logging.getLogger(__name__)

SHELL = ("/bin/bash", "-i")
CLOSE_IDLE = 4408
READ_CHUNK = 64 * 1024
MAX_PENDING_INPUT = 1024 * 1024  # bytes the shell has not read yet; beyond that, input is refused
DEFAULT_SIZE = (80, 24)
_EXIT_WAIT_SECONDS = 5
# The pip shim, placed read-only in the sandbox's own tools folder (no host path) and first on PATH.
PIP_SHIM = Path(__file__).resolve().parent / "terminal_bin" / "pip"
# `pip install --overlay` target: inside the sandbox's private /tmp tmpfs, so it adds no write path and is gone
# with the session.
PIP_OVERLAY = f"{sandbox.TMPDIR}/pip-overlay"


def _size(value: object, default: int) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default
    return min(max(number, 1), 1000)


def set_window_size(fd: int, cols: int, rows: int) -> None:
    # The kernel sends SIGWINCH to the pty's foreground process group, so full-screen programs redraw.
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


@dataclass(frozen=True)
class ShellRuntime:
    """What the shell runs on: a runtime's interpreter prefixes, or an image runtime's filesystem as root."""

    prefixes: list[Path] = field(default_factory=list)
    root: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    # What the banner and the pip shim call it, e.g. "runtime 12"; empty: the platform's default interpreter.
    name: str = ""

    @property
    def shell(self) -> str:
        # A slim image may have no bash.
        if self.root is not None and not os.path.lexists(self.root / SHELL[0].lstrip("/")):
            return "/bin/sh"
        return SHELL[0]


def shell_runtime(workspace: Workspace) -> ShellRuntime | None:
    """The runtime the shell should have; None: the platform's default."""
    runtime = workspace_runtime_status(workspace.spec_source()).runtime
    if runtime is None or runtime.state != Runtime.State.READY or not runtime.has_interpreter:
        return None
    return ShellRuntime(
        prefixes=runtime.interpreter_prefixes,
        root=runtime.sandbox_root,
        env=runtime.image_env,
        name=f"runtime {runtime.pk}",
    )


def banner(runtime: ShellRuntime | None) -> str:
    """The terminal's first line: what python is here, and where packages go."""
    if runtime is None or not runtime.name:
        what = (
            "no runtime of this workspace is ready (none built yet from .pyrun/environment.yml): python here is the "
            "platform's default interpreter"
        )
    else:
        where = f" ({runtime.prefixes[0]})" if runtime.prefixes else " (its image)"
        what = f"python here is the workspace's {runtime.name}{where}, read-only"
    return (
        f"\x1b[2mPyRun terminal: {what}. Packages belong in .pyrun/environment.yml; "
        "pip install --overlay PACKAGE tries one in this session only.\x1b[0m\r\n"
    )


class ShellSession:
    """One shell on a pty in the sandbox; the consumer feeds it input and forwards its output."""

    def __init__(
        self,
        workdir: Path,
        limits: sandbox.ResourceLimits,
        cols: int,
        rows: int,
        runtime: ShellRuntime | None = None,
    ) -> None:
        runtime = runtime or ShellRuntime()
        shell = runtime.shell
        env = {**runtime.env, "TERM": "xterm-256color", "SHELL": shell}
        # Only inside bwrap: there /tmp is the session's own tmpfs. The single-user fallback has no sandbox
        # /tmp (the host's is everyone's), so it keeps the plain pip.
        sandboxed = sandbox.bwrap_executable() is not None
        if sandboxed:
            env["PYRUN_RUNTIME_NAME"] = runtime.name or "the platform's default interpreter"
            env["PYRUN_PIP_OVERLAY"] = PIP_OVERLAY
            # Before an image's own PYTHONPATH (its ENV), which stays.
            env["PYTHONPATH"] = ":".join(filter(None, (PIP_OVERLAY, runtime.env.get("PYTHONPATH"))))
        spec = sandbox.SandboxSpec(
            argv=(shell, *SHELL[1:]),
            workdir=workdir,
            # An image root brings its own interpreters; with neither, the platform's default one.
            **({"runtime_prefixes": runtime.prefixes} if runtime.prefixes or runtime.root else {}),
            env=env,
            tools={"pip": PIP_SHIM.read_bytes(), "pip3": PIP_SHIM.read_bytes()} if sandboxed else {},
            limits=limits,
            # The shell needs its pty as controlling terminal for job control; the pty is its own, so
            # there is no outer terminal to detach from.
            new_session=False,
            root=runtime.root,
        )
        if sandboxed:
            # The shim before the runtime's bin/ (then the system's): the PATH the sandbox would set, or an image's.
            spec = replace(spec, env={**env, "PATH": f"{sandbox.TOOLS_DIR}:{sandbox.build_env(spec)['PATH']}"})
        master, slave = os.openpty()
        try:
            set_window_size(master, cols, rows)
            self.process = sandbox.popen(spec, tty=slave)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # else reading the master never sees EOF when the shell ends
        os.set_blocking(master, False)
        self.master = master
        self.pidfd = os.pidfd_open(self.process.pid)
        self.exited: asyncio.Future | None = None
        self.pending = bytearray()

    def resize(self, cols: int, rows: int) -> None:
        set_window_size(self.master, cols, rows)

    def read(self) -> bytes | None:
        """Output available now; b"" at end of output, None when there is nothing yet."""
        try:
            return os.read(self.master, READ_CHUNK)
        except BlockingIOError:
            return None
        except OSError:  # EIO: every holder of the pty's other end is gone
            return b""

    def write_pending(self) -> None:
        """Write as much buffered input as the pty takes without blocking."""
        while self.pending:
            try:
                written = os.write(self.master, self.pending)
            except BlockingIOError:
                return
            del self.pending[:written]

    async def wait(self, timeout: float) -> int | None:
        """The exit code once the sandbox has ended (128 + N for signal N), or None after ``timeout``."""
        if self.exited is None:  # one watcher however many wait: add_reader keeps one callback per fd
            loop = asyncio.get_running_loop()
            self.exited = loop.create_future()
            loop.add_reader(self.pidfd, self._on_exit)
        try:
            await asyncio.wait_for(asyncio.shield(self.exited), timeout)
        except TimeoutError:
            return None
        code = self.process.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code

    def _on_exit(self) -> None:
        asyncio.get_running_loop().remove_reader(self.pidfd)
        if not self.exited.done():
            self.exited.set_result(None)

    async def close(self) -> None:
        """Kill the whole sandbox and release the pty, pidfd and the sandbox's host resources."""
        self.process.kill_all()
        if await self.wait(_EXIT_WAIT_SECONDS) is None:
            logger.warning("terminal sandbox %s did not exit after SIGKILL", self.process.pid)
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.pidfd)
        for fd in (self.master, self.pidfd):
            with contextlib.suppress(OSError):
                os.close(fd)


class TerminalConsumer(TenantObjectConsumerMixin, AsyncWebsocketConsumer):
    required_role = Role.MEMBER
    # No channel layer: a terminal talks only to its own pty, so it holds no Redis connection (an unknown
    # alias makes Channels skip the layer).
    channel_layer_alias = None

    session: ShellSession | None = None

    def get_queryset(self, user):
        return Workspace.objects.for_user(user)

    async def connect(self) -> None:
        found = await self.authorize()
        if found is None:
            return
        workspace, _membership = found
        workdir = Path(workspace.path)
        if not workdir.is_dir():
            await self.refuse(1011, "workspaces:platform:files-missing")
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        cols = _size(query.get("cols", [None])[-1], DEFAULT_SIZE[0])
        rows = _size(query.get("rows", [None])[-1], DEFAULT_SIZE[1])
        limits = sandbox.ResourceLimits.for_org(workspace.org.limits)  # org came with the workspace: no query
        runtime = await database_sync_to_async(shell_runtime)(workspace)
        self.loop = asyncio.get_running_loop()
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.closing = False
        self.tasks: set[asyncio.Task] = set()
        self.idle_handle: asyncio.TimerHandle | None = None
        try:
            self.session = ShellSession(workdir, limits, cols, rows, runtime)
        except PyrunError as error:
            await self.refuse(1011, error.id)
            return
        await self.accept()
        await self.send(json.dumps({"type": "output", "data": banner(runtime)}))
        self.loop.add_reader(self.session.master, self._on_readable)
        self._touch()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None or self.closing:
            return
        try:
            message = json.loads(text_data or "")
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await self._error("expected a JSON object with a type")
            return
        if kind == "input" and isinstance(message.get("data"), str):
            self._touch()
            await self._input(message["data"].encode("utf-8", errors="replace"))
        elif kind == "resize":
            self.session.resize(
                _size(message.get("cols"), DEFAULT_SIZE[0]), _size(message.get("rows"), DEFAULT_SIZE[1])
            )
        else:
            await self._error(f"unknown message type {kind!r} or missing fields")

    async def disconnect(self, code: int) -> None:
        await self._shutdown()

    # --- input ---------------------------------------------------------------------------------------

    async def _input(self, data: bytes) -> None:
        session = self.session
        if len(session.pending) + len(data) > MAX_PENDING_INPUT:
            await self._error("the shell is not reading its input; this input was dropped")
            return
        session.pending += data
        session.write_pending()
        if session.pending:
            self.loop.add_writer(session.master, self._on_writable)

    def _on_writable(self) -> None:
        self.session.write_pending()
        if not self.session.pending:
            self.loop.remove_writer(self.session.master)

    # --- output and exit -----------------------------------------------------------------------------

    def _on_readable(self) -> None:
        data = self.session.read()
        if data is None:
            return
        self.loop.remove_reader(self.session.master)
        if data:
            self._spawn(self._forward(self.decoder.decode(data)))
        else:
            self._spawn(self._finish())

    async def _forward(self, text: str) -> None:
        if text:  # empty when the chunk ended inside a multibyte character
            await self.send(json.dumps({"type": "output", "data": text}))
        if not self.closing:
            self.loop.add_reader(self.session.master, self._on_readable)

    async def _finish(self) -> None:
        """The shell ended: flush, report its exit code, close the socket."""
        rest = self.decoder.decode(b"", final=True)
        if rest:
            await self.send(json.dumps({"type": "output", "data": rest}))
        code = await self.session.wait(_EXIT_WAIT_SECONDS)
        await self.send(json.dumps({"type": "exit", "code": code}))
        await self.close(code=1000)
        await self._shutdown()

    # --- idle timeout, errors, cleanup ---------------------------------------------------------------

    def _touch(self) -> None:
        if self.idle_handle is not None:
            self.idle_handle.cancel()
        self.idle_handle = self.loop.call_later(settings.PYRUN_TERMINAL_IDLE_SECONDS, self._on_idle)

    def _on_idle(self) -> None:
        self._spawn(self._close_idle())

    async def _close_idle(self) -> None:
        await self.close(code=CLOSE_IDLE, reason="terminal:user:idle-timeout")
        await self._shutdown()

    async def _error(self, detail: str) -> None:
        error_id = "terminal:user:bad-message"
        message = ERRORS[error_id].message.format(detail=detail)
        await self.send(json.dumps({"type": "error", "id": error_id, "message": message}))

    def _spawn(self, coro) -> None:
        task = self.loop.create_task(self._guarded(coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guarded(self, coro) -> None:
        try:
            await coro
        except Exception:  # the client went away mid-send: nothing to tell anyone, just clean up
            logger.debug("terminal send failed", exc_info=True)
            await self._shutdown()

    async def _shutdown(self) -> None:
        session = self.session
        if session is None or self.closing:
            return
        self.closing = True
        if self.idle_handle is not None:
            self.idle_handle.cancel()
        self.loop.remove_reader(session.master)
        self.loop.remove_writer(session.master)
        await session.close()
