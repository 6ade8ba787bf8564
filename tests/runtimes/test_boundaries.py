"""What the runtimes app keeps to itself: its build log table and the wording of a build's header. Other apps get a
runtime with ``runtimes.services.acquire`` and its log lines through ``on_log``; the operator console borrows
``runtimes.admin_inlines``."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APPS = ("pyrun_web", "ops", "pipelines", "jobs", "workspaces", "monitoring", "templates_lib", "runtimes")


def sources(*, outside: str = "") -> list[Path]:
    return [
        path for app in APPS if app != outside for path in (REPO / app).rglob("*.py") if "migrations" not in path.parts
    ]


def names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    found |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    found |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    return found


def test_no_app_but_runtimes_touches_the_build_log_table():
    readers = [path.relative_to(REPO) for path in sources(outside="runtimes") if "RuntimeLogLine" in names_used(path)]
    assert readers == []


def test_the_build_header_is_worded_in_one_place():
    writers = [path.relative_to(REPO) for path in sources() if "== build #" in path.read_text()]
    assert writers == [Path("runtimes/director.py")]
