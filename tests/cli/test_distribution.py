"""``pyrun-cli`` installed on its own, as a CI machine does (``pip install ./cli``): httpx only, and it runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from uv import find_uv_bin

CLI = Path(__file__).resolve().parents[2] / "cli"
COMMANDS = ("health", "whoami", "login", "push", "run", "logs", "cancel", "status")


def _uv(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    return subprocess.run([find_uv_bin(), *args], capture_output=True, text=True, cwd=cwd, env=env)


def _installed(site_packages: str) -> dict[str, metadata.Distribution]:
    return {canonicalize_name(dist.metadata["Name"]): dist for dist in metadata.distributions(path=[site_packages])}


def _needed_by(root: str, installed: dict[str, metadata.Distribution]) -> set[str]:
    """``root`` and what its requirements pull in, transitively (extras left out: nobody asked for them)."""
    seen, todo = set(), [root]
    while todo:
        name = todo.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        for line in installed[name].requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def test_the_cli_installs_alone_with_httpx_and_runs(tmp_path):
    # A copy, so that the build's egg-info/ and build/ folders land in tmp, not in the checkout.
    source = tmp_path / "cli"
    shutil.copytree(CLI, source, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
    venv = tmp_path / "venv"
    created = _uv("venv", "--offline", "--python", sys.executable, str(venv), cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    install = ("pip", "install", "--python", str(python), str(source))
    result = _uv(*install, "--offline", cwd=tmp_path)
    if result.returncode != 0:  # httpx (or setuptools, for the build) is not in uv's cache yet
        result = _uv(*install, cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True
    )
    installed = _installed(purelib.stdout.strip())
    assert [str(Requirement(line)) for line in installed["pyrun-cli"].requires] == ["httpx>=0.28"]
    assert set(installed) == _needed_by("pyrun-cli", installed)
    assert "httpx" in installed
    assert not {"django", "celery", "boto3", "pyrun-web"} & set(installed)

    help_ = subprocess.run([venv / "bin" / "pyrun", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert help_.returncode == 0, help_.stderr
    assert help_.stdout.startswith("usage: pyrun ")
    for command in COMMANDS:
        assert f"\n    {command} " in help_.stdout
