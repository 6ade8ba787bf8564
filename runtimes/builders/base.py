"""What every builder and publisher shares: the build context it gets, the result it returns, and a
command runner that streams output line by line (one object per command, as Read the Docs' doc_builder).

A builder never touches the database: it logs through ``BuildContext.log`` and returns a ``BuildResult``;
the build task owns the Runtime's state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from django.conf import settings

from pyrun_web import sandbox as sandboxes
from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import SandboxSpec


@dataclass
class BuildContext:
    """Everything a builder may use. ``prefix`` is where a local runtime goes (created by the builder);
    ``context_dir`` holds a copy of the workspace's ``.pyrun/`` folder (the Docker build context)."""

    runtime_id: int
    spec: object  # runtimes.spec.RuntimeSpec
    prefix: Path
    context_dir: Path
    log: Callable[[str], None]
    timeout_s: float = 1800.0
    cancelled: threading.Event = field(default_factory=threading.Event)
    env: dict[str, str] = field(default_factory=dict)
    # The exact Python the spec hash was computed with (e.g. "3.11.7"); "" = resolve ``spec.python`` afresh.
    python_version: str = ""
    target: str = "local"  # "local" | "lambda-layer" | "image"
    # The org the runtime belongs to: its caches and images are kept apart from every other org's.
    org_id: int = 0
    # Called with a Runtime.Phase value as each step starts (the director records it on the runtime).
    phase: Callable[[str], None] = field(default=lambda _phase: None)

    @property
    def deadline(self) -> float:
        return self._started + self.timeout_s

    def __post_init__(self) -> None:
        self._started = time.monotonic()


@dataclass
class BuildResult:
    python_version: str
    packages: list[dict] = field(default_factory=list)  # [{"name", "version", "source": "pypi"|"conda"|...}]
    size_bytes: int = 0
    prefix: str = ""  # local runtimes: the prefix whose bin/python jobs use
    image_uri: str = ""  # docker runtimes
    extra: dict = field(default_factory=dict)


class Builder(Protocol):
    name: str

    def build(self, ctx: BuildContext) -> BuildResult: ...


class Publisher(Protocol):
    """Takes a finished build to its target (a Lambda layer, a registry) and returns the result with the
    artifacts filled in (``extra["layer_arns"]``, ``image_uri``)."""

    name: str

    def publish(self, ctx: BuildContext, result: BuildResult) -> BuildResult: ...


@dataclass
class CommandResult:
    argv: list[str]
    exit_code: int
    output: str
    seconds: float


def run_command(
    argv: Sequence[str],
    ctx: BuildContext,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check_error: str | None = None,
    inherit_env: bool = True,
    sandbox: SandboxSpec | None = None,
    **error_params: object,
) -> CommandResult:
    """Run ``argv``, streaming each output line to ``ctx.log``; stop it on cancel or at the deadline.

    With ``check_error``, a non-zero exit raises ``PyrunError(check_error, output=<tail>, **error_params)``.
    With ``inherit_env=False`` the command sees only ``ctx.env`` and ``env``, not the worker's environment
    (which holds the platform's secrets). With ``sandbox``, the command runs in that sandbox (its argv and env
    replaced by these): for commands that run user-supplied code, such as an sdist's build backend.
    """
    ctx.log("$ " + " ".join(str(a) for a in argv))
    started = time.monotonic()
    process: subprocess.Popen
    if sandbox is not None:
        spec = dataclasses.replace(sandbox, argv=[str(a) for a in argv], env={**sandbox.env, **ctx.env, **(env or {})})
        process = sandboxes.popen(spec, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    else:
        process = subprocess.Popen(
            [str(a) for a in argv],
            cwd=cwd,
            env={**(os.environ if inherit_env else {}), **ctx.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so a cancel kills the whole tree of the command
        )
    lines: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while True:
            if ctx.cancelled.is_set():
                _kill(process)
                raise PyrunError("runtime:user:cancelled")
            if time.monotonic() > ctx.deadline:
                _kill(process)
                raise PyrunError("runtime:user:timeout", seconds=int(ctx.timeout_s))
            if not selector.select(timeout=0.2):
                if process.poll() is not None:
                    break
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for raw in complete:
                line = raw.decode(errors="replace").rstrip("\r")
                lines.append(line)
                ctx.log(line)
        if buffer:
            lines.append(buffer.decode(errors="replace"))
            ctx.log(lines[-1])
        process.wait()
    finally:
        selector.close()
        process.stdout.close()
    result = CommandResult(list(map(str, argv)), process.returncode, "\n".join(lines), time.monotonic() - started)
    if check_error and result.exit_code != 0:
        raise PyrunError(check_error, output="\n".join(lines[-30:]), **error_params)
    return result


def _kill(process: subprocess.Popen) -> None:
    if isinstance(process, sandboxes.SandboxProcess):
        process.kill_all()
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def directory_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed while we walk simply does not count
                total += os.lstat(os.path.join(root, name)).st_size
    return total


# Compiles the environment's own site-packages (purelib and platlib); a file that does not compile (a package's
# Python 2 test data) is skipped, as pip does.
_COMPILE_ALL = (
    "import compileall, sysconfig\n"
    "for path in sorted({sysconfig.get_paths()[k] for k in ('purelib', 'platlib')}):\n"
    "    compileall.compile_dir(path, quiet=2, workers=0)\n"
)


def compile_bytecode(
    ctx: BuildContext, python: Path, *, cwd: Path, env: dict[str, str], sandbox: SandboxSpec | None = None
) -> None:
    """Write the ``.pyc`` of every installed module now. Jobs bind the runtime read-only, so Python cannot cache
    what it compiles there and every job would compile all its imports again: ``import lithops`` costs about a
    second more, dask + pandas + pyarrow + matplotlib 14 s instead of 6 s. Compiling runs no package code."""
    if not settings.PYRUN_RUNTIME_COMPILE_BYTECODE:
        return
    ctx.log("Compiling bytecode, so jobs start without compiling their imports")
    # Sandboxed all the same: the interpreter runs the installed packages' .pth files at start-up.
    run_command([python, "-I", "-c", _COMPILE_ALL], ctx, cwd=cwd, env=env, inherit_env=False, sandbox=sandbox)
