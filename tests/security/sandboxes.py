"""Running a script in a real sandbox (bwrap, its network namespace, its cgroup) for the hostile-tenant tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pyrun_web import sandbox
from pyrun_web.sandbox import SandboxSpec

needs_bwrap = pytest.mark.skipif(sandbox.bwrap_executable() is None, reason="bwrap (Debian bubblewrap) not installed")


def run_python(workdir: Path, code: str, *args: str, timeout: float = 60, **spec) -> subprocess.CompletedProcess:
    """Run ``code`` with the platform's base interpreter in the sandbox; stdout and stderr as text."""
    python = str(Path(sys.base_prefix) / "bin" / "python3")
    return sandbox.run(SandboxSpec(argv=[python, "-c", code, *args], workdir=workdir, **spec), timeout=timeout)
