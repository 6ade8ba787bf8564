"""Which Python interpreters this machine has, and which one a runtime's python pin gets.

Runtimes never download Python: they use what the host has, as uv lists it (``UV_PYTHON_DOWNLOADS=never``)
plus pyenv's installs (pyenv shims only expose the global version, so uv alone misses the others).
Discovery runs a few processes, so it is cached for a short while per process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from pyrun_web.errors import PyrunError
from runtimes.spec import python_specifiers

# The pin of a spec that names no python: the platform's own minor version.
DEFAULT_PYTHON = "3.11"
# uv creates environments for 3.8 and later; older installs exist on some hosts but cannot be used.
MIN_VERSION = Version("3.8")
CACHE_SECONDS = 300.0  # installing a Python on a server is rare; a new one shows up within this


@dataclass(frozen=True)
class Interpreter:
    version: Version
    path: Path  # the real executable (never a pyenv shim)

    @property
    def version_text(self) -> str:
        return str(self.version)


def uv_binary() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def uv_env() -> dict[str, str]:
    """The variables every uv call of the platform gets: never download a Python, no colours in logs."""
    return {"UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1", "UV_NO_PROGRESS": "1"}


def _pyenv_interpreters() -> list[Interpreter]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not re.fullmatch(r"\d+\.\d+\.\d+", entry.name):  # CPython only; pypy-*, miniconda-* etc. are skipped
            continue
        for name in (f"python{'.'.join(entry.name.split('.')[:2])}", "python3", "python"):
            executable = entry / "bin" / name
            if executable.is_file() and os.access(executable, os.X_OK):
                found.append(Interpreter(Version(entry.name), executable))
                break
    return found


def _uv_interpreters() -> list[Interpreter]:
    argv = [uv_binary(), "python", "list", "--only-installed", "--output-format", "json", "--no-config"]
    # Without pyenv's shims on PATH: uv runs each one (seconds), and they only repeat what pyenv lists.
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if "/shims" not in p)
    try:
        completed = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **uv_env(), "PATH": path},
            cwd="/",  # so no project's .venv or .python-version steers what uv reports
            check=False,
        )
        rows = json.loads(completed.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    found = []
    for row in rows:
        path = row.get("path") or ""
        if not path or "/shims/" in path or row.get("implementation") != "cpython":
            continue
        try:
            found.append(Interpreter(Version(row["version"]), Path(path)))
        except (InvalidVersion, KeyError):
            continue
    return found


_cache: tuple[float, list[Interpreter]] | None = None
_cache_lock = threading.Lock()


def available_interpreters(*, refresh: bool = False) -> list[Interpreter]:
    """Usable interpreters, newest first, one per real executable."""
    global _cache
    with _cache_lock:
        if not refresh and _cache is not None and time.monotonic() - _cache[0] < CACHE_SECONDS:
            return _cache[1]
        seen: set[str] = set()
        result = []
        for interpreter in [*_pyenv_interpreters(), *_uv_interpreters()]:
            real = os.path.realpath(interpreter.path)
            if interpreter.version < MIN_VERSION or real in seen:
                continue
            seen.add(real)
            result.append(interpreter)
        result.sort(key=lambda i: i.version, reverse=True)
        _cache = (time.monotonic(), result)
        return result


def effective_pin(pin: str) -> str:
    return pin or DEFAULT_PYTHON


def find_interpreter(pin: str) -> Interpreter:
    """The newest interpreter satisfying ``pin`` (conda syntax); ``runtime:user:python-unavailable`` if none."""
    wanted = python_specifiers(effective_pin(pin))
    candidates = available_interpreters()
    for interpreter in candidates:
        if any(interpreter.version in specifiers for specifiers in wanted):
            return interpreter
    available = sorted({i.version for i in candidates})
    raise PyrunError(
        "runtime:user:python-unavailable",
        python=effective_pin(pin),
        available=", ".join(str(v) for v in available) or "none",
    )


def resolved_version(pin: str) -> str:
    """The exact version a pin resolves to here (what a spec hash records); the pin itself when none fits."""
    try:
        return find_interpreter(pin).version_text
    except PyrunError:
        return f"unavailable:{effective_pin(pin)}"
