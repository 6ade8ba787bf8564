"""The direction of imports between apps (pyproject.toml [tool.importlinter]) is enforced: lint-imports passes on
the tree as it is and fails, naming the contract, when one forbidden import is added to a copy of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the Python files of every package the contracts cover, and the configuration."""
    for package in CONFIG["root_packages"]:
        shutil.copytree(
            REPO / package,
            tmp_path / package,
            ignore=lambda folder, names: [n for n in names if not n.endswith(".py") and not Path(folder, n).is_dir()],
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    # Run in the copy: lint-imports puts its working directory first on the path, so it reads the copy's packages.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=tree, capture_output=True, text=True, timeout=120
    )


def test_the_tree_keeps_every_contract(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


LAYERS = "Each app imports only the apps below it BROKEN"
CORE = "The pyrun_web core imports no app BROKEN"


@pytest.mark.parametrize(
    ("module", "added", "expected"),
    [
        # An app importing an app above it.
        (
            "runtimes/models.py",
            "jobs.models",
            [LAYERS, "runtimes is not allowed to import jobs", "runtimes.models -> jobs.models"],
        ),
        # Independent apps (one line of the picture) importing each other.
        ("monitoring/live.py", "workspaces.models", [LAYERS, "monitoring is not allowed to import workspaces"]),
        # A module added to pyrun_web is core unless it is a composition root.
        ("pyrun_web/newly_added.py", "jobs.models", [CORE, "pyrun_web.newly_added -> jobs.models"]),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tree, module, added, expected):
    path = tree / module
    path.write_text((path.read_text() if path.exists() else "") + f"\nimport {added}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    for text in expected:
        assert text in result.stdout
