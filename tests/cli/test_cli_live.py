"""`pyrun login`, `push` and usage errors against the real ASGI app (uvicorn on the test database)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pyrun_cli import main
from pyrun_cli.errors import Exit
from tests.conftest import worker_env
from workspaces.models import Workspace


def _pyrun(*args: str, env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pyrun_cli", *args], capture_output=True, text=True, env=env, input=stdin
    )


@pytest.fixture
def as_member(tenants, live_server_url, tmp_path, monkeypatch):
    """In-process `pyrun` calls act as the member (through real HTTP), with no saved config."""
    monkeypatch.setenv("PYRUN_URL", live_server_url)
    monkeypatch.setenv("PYRUN_TOKEN", tenants.keys["member"])
    monkeypatch.setenv("PYRUN_CONFIG", str(tmp_path / "no-config.json"))
    monkeypatch.delenv("PYRUN_ORG", raising=False)
    return tenants


def _tree(tenants, workspace_id: int) -> dict[str, str]:
    response = tenants.client("member").get(f"/api/v1/workspaces/{workspace_id}/files/")
    return {entry["path"]: entry["type"] for entry in response.json()["entries"]}


def _read(tenants, workspace_id: int, path: str) -> bytes:
    response = tenants.client("member").get(f"/api/v1/workspaces/{workspace_id}/files/{path}")
    return b"".join(response.streaming_content)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_login_verifies_the_token_saves_it_0600_and_later_commands_use_it(tenants, live_server_url, tmp_path):
    config_file = tmp_path / "cfg" / "pyrun" / "config.json"
    env = worker_env({"PYRUN_CONFIG": str(config_file)})
    for name in ("PYRUN_URL", "PYRUN_TOKEN", "PYRUN_ORG"):
        env.pop(name, None)

    refused = _pyrun("login", "--url", live_server_url, env=env, stdin="pyr_00000000_wrong\n")
    assert refused.returncode == Exit.USAGE
    assert "refused the token: Invalid, expired or revoked API token." in refused.stderr
    assert not config_file.exists()

    login = _pyrun("login", "--url", live_server_url + "/", env=env, stdin=tenants.keys["member"] + "\n")
    assert login.returncode == 0, login.stderr
    assert "member@example.com" in login.stdout and "Acme Research" in login.stdout
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert json.loads(config_file.read_text()) == {"url": live_server_url, "token": tenants.keys["member"]}

    whoami = _pyrun("whoami", env=env)  # neither URL nor token given: both come from the file
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["user"]["email"] == "member@example.com"

    relogin = _pyrun("login", "--token", tenants.keys["owner"], env={**env, "PYRUN_URL": live_server_url})
    assert relogin.returncode == 0, relogin.stderr
    assert json.loads(config_file.read_text())["token"] == tenants.keys["owner"]


def test_push_creates_uploads_skips_ignored_and_deletes_extras(as_member, tmp_path, capsys):
    tenants, src = as_member, tmp_path / "repo"
    _write(src, {
        "main.py": "print('v1')\n", "src/util.py": "X = 1\n", "README.md": "# app\n",
        ".pyrunignore": "# local data stays local\ndata/\n*.secret\n",
        ".git/HEAD": "ref", "src/__pycache__/util.cpython-311.pyc": "pyc", "node_modules/x/index.js": "js",
        ".venv/bin/python": "py", "data/big.csv": "1,2\n", "key.secret": "s", "notes.tmp": "n",
    })  # fmt: skip
    (src / "results").mkdir()

    assert main(["push", str(src), "--workspace", "ci-app"]) == Exit.USAGE
    assert "No workspace 'ci-app'" in capsys.readouterr().err

    assert main(["push", str(src), "--workspace", "ci-app", "--create", "--exclude", "*.tmp"]) == Exit.OK
    assert "uploaded 4 files, deleted 0" in capsys.readouterr().out
    workspace = Workspace.objects.get(org=tenants.org, slug="ci-app")
    assert _tree(tenants, workspace.pk) == {
        ".pyrunignore": "file", "README.md": "file", "main.py": "file", "results": "dir", "src": "dir",
        "src/util.py": "file",
    }  # fmt: skip

    # Meanwhile the workspace gained files (a run's output, an IDE edit), and the repo changed.
    member = tenants.client("member")
    base = f"/api/v1/workspaces/{workspace.pk}/files/"
    for path in ("extra.py", "old/deep/x.py", "results/out.csv", "__pycache__/main.cpython-311.pyc", "pkg"):
        assert member.generic("PUT", base + path, b"remote", "application/octet-stream").status_code == 201
    _write(src, {"main.py": "print('v2')\n", "pkg/__init__.py": ""})
    (src / "src" / "util.py").unlink()

    # By id this time; `pkg` is a file remotely and a folder here: --delete resolves that before uploading.
    assert main(["push", str(src), "-w", str(workspace.pk), "--delete", "--exclude", "*.tmp"]) == Exit.OK
    out = capsys.readouterr().out
    assert "uploaded 4 files, deleted 5" in out  # pkg, then extra.py, old, results/out.csv, src/util.py
    assert _tree(tenants, workspace.pk) == {
        ".pyrunignore": "file", "README.md": "file", "main.py": "file", "results": "dir", "src": "dir",
        "pkg": "dir", "pkg/__init__.py": "file",
        "__pycache__": "dir", "__pycache__/main.cpython-311.pyc": "file",  # ignored paths are never deleted
    }  # fmt: skip
    assert _read(tenants, workspace.pk, "main.py") == b"print('v2')\n"


def test_usage_errors_exit_2_with_the_message(as_member, tmp_path, capsys, monkeypatch):
    tenants = as_member
    assert main(["run", "no-such-workspace", "main.py", "--wait"]) == Exit.USAGE
    assert "No workspace 'no-such-workspace'" in capsys.readouterr().err

    assert main(["push", str(tmp_path / "missing"), "-w", "x"]) == Exit.USAGE
    assert "is not a folder" in capsys.readouterr().err

    assert main(["push", str(tmp_path), "-w", "My App", "--create"]) == Exit.USAGE
    assert "--create needs a slug" in capsys.readouterr().err

    # A 4xx answer: the API's own message is printed.
    monkeypatch.setenv("PYRUN_TOKEN", tenants.keys["viewer"])
    assert main(["push", str(tmp_path), "-w", "viewer-app", "--create"]) == Exit.USAGE
    assert "needs the member role" in capsys.readouterr().err

    monkeypatch.setenv("PYRUN_TOKEN", "pyr_00000000_wrong")
    assert main(["status", "1"]) == Exit.USAGE
    assert "Invalid, expired or revoked API token." in capsys.readouterr().err

    # A workspace of another org does not exist for this token.
    other = Workspace.objects.create(org=tenants.other_org, name="theirs", slug="theirs", created_by=tenants.outsider)
    monkeypatch.setenv("PYRUN_TOKEN", tenants.keys["member"])
    for ref in ("theirs", str(other.pk)):
        assert main(["run", ref, "main.py"]) == Exit.USAGE
        assert f"No workspace {ref!r}" in capsys.readouterr().err
