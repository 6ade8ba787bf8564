"""Runtime tests build for real (uv, PyPI). Without a worker, builds run in the test process: the build
task's body (``director.run_build``) is called where the task would be sent, after the request's commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtimes import director, services
from workspaces.models import Workspace
from workspaces.services import create_workspace

SIX = "name: demo\ndependencies:\n  - python=3.11\n  - pip:\n      - six\n"
IDNA = "name: demo\ndependencies:\n  - python=3.11\n  - pip:\n      - six\n      - idna\n"
UNKNOWN = "name: demo\ndependencies:\n  - python=3.11\n  - pip:\n      - this-package-does-not-exist-pyrun-xyz\n"
OLD_PYTHON = "name: demo\ndependencies:\n  - python=2.5\n  - pip:\n      - six\n"
# Line 5 has a tab-less but misindented list item: YAML cannot parse it.
MALFORMED = "name: demo\ndependencies:\n  - python=3.11\n  - pip:\n      - six\n     - idna\n"


@pytest.fixture
def sent_builds(monkeypatch) -> list[tuple[int, str]]:
    """Builds that would go to Celery, recorded and not run."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(services, "send_build", lambda runtime_id, task_id: sent.append((runtime_id, task_id)))
    return sent


@pytest.fixture
def inline_builds(monkeypatch, transactional_db) -> list[tuple[int, str]]:
    """Builds run synchronously where they would be sent to Celery; returns what was built."""
    built: list[tuple[int, str]] = []

    def run(runtime_id: int, task_id: str) -> None:
        built.append((runtime_id, task_id))
        director.run_build(runtime_id, task_id)

    monkeypatch.setattr(services, "send_build", run)
    return built


def make_workspace(tenants, env_text: str | None = None, name: str = "Runtime test") -> Workspace:
    workspace = create_workspace(org=tenants.org, user=tenants.owner, name=name, template="python")
    if env_text is not None:
        write_env(workspace, env_text)
    return workspace


def write_env(workspace: Workspace, text: str, name: str = "environment.yml") -> Path:
    path = Path(workspace.path) / ".pyrun" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path
