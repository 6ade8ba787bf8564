"""The CLI's local logic, without a server: arguments, ignore rules, push planning, retries, imports."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from pyrun_cli import bundle, client, main, parse_args
from pyrun_cli.client import Api, ApiError
from pyrun_cli.commands.push import clashes, deletions
from pyrun_cli.commands.run import parse_env
from pyrun_cli.errors import CliError, Exit
from pyrun_cli.ignore import Ignore
from pyrun_cli.workspaces import is_stable_slug

REPO = Path(__file__).resolve().parents[2]


def test_the_cli_imports_nothing_but_the_stdlib_and_httpx():
    # A CI machine runs the client with httpx only (its own distribution, cli/): importing it must not pull in
    # Django, Celery, DRF or any platform module, which it could not import there.
    code = """
import sys
from pyrun_cli import main
import pyrun_cli.commands.push, pyrun_cli.commands.run, pyrun_cli.commands.jobs
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("django", "celery", "rest_framework", "kombu", "pyrun_web"))
print(bad)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


class TestArguments:
    def test_script_args_may_follow_the_options_and_dashes_go_after_double_dash(self):
        args = parse_args(["run", "my-app", "main.py", "a", "--wait", "b", "--json", "--", "--flag", "-x"])
        assert (args.workspace, args.entrypoint, args.wait, args.json) == ("my-app", "main.py", True, True)
        assert args.args == ["a", "b", "--flag", "-x"]

    def test_global_options_work_before_and_after_the_command(self):
        before = parse_args(["--url", "http://a", "--org", "acme", "status", "7"])
        after = parse_args(["status", "7", "--url", "http://b", "--token", "t"])
        assert (before.url, before.org, before.token) == ("http://a", "acme", None)
        assert (after.url, after.token, after.org) == ("http://b", "t", None)

    @pytest.mark.parametrize(
        "argv",
        [
            ["run", "w"],  # no entrypoint
            ["run", "w", "main.py", "--wiat"],  # a typo is not a script argument
            ["run", "w", "main.py", "--timeout", "0"],
            ["push", "."],  # --workspace is required
            ["status", "1", "extra"],
            ["frobnicate"],
        ],
    )
    def test_bad_arguments_exit_2_with_a_message(self, argv, capsys):
        with pytest.raises(SystemExit) as exited:
            parse_args(argv)
        assert exited.value.code == Exit.USAGE
        assert "pyrun" in capsys.readouterr().err

    def test_env_pairs_and_copies(self, monkeypatch):
        monkeypatch.setenv("FROM_HERE", "secret")
        assert parse_env(["A=1", "B=x=y", "C=", "FROM_HERE"]) == {"A": "1", "B": "x=y", "C": "", "FROM_HERE": "secret"}
        for bad in ("1A=2", "=v", "NOT_SET_ANYWHERE_42"):
            with pytest.raises(CliError):
                parse_env([bad])

    def test_create_needs_a_name_that_is_its_own_slug(self):
        assert all(map(is_stable_slug, ["my-app", "app_2", "ci", "2024"]))
        assert not any(map(is_stable_slug, ["My-App", "my app", "a--b", "-a", "a_", "é", "x" * 51]))


class TestIgnore:
    def test_defaults_pyrunignore_syntax_and_negation(self):
        ignore = Ignore(["*.log", "/build/", "data/**/*.csv", "!keep.log", "docs/"])
        assert ignore(".git/config", is_dir=False)
        assert ignore("src/__pycache__", is_dir=True)
        assert ignore("deep/node_modules/x/y.js", is_dir=False)
        assert ignore("a/b/run.log", is_dir=False)
        assert not ignore("keep.log", is_dir=False)
        assert ignore("build", is_dir=True) and not ignore("src/build", is_dir=True)
        assert not ignore("build", is_dir=False)  # folders only
        assert ignore("data/x/y/z.csv", is_dir=False) and not ignore("data/x/z.json", is_dir=False)
        assert ignore("src/docs/index.md", is_dir=False)  # below an ignored folder
        assert not ignore("main.py", is_dir=False)

    def test_scan_reads_pyrunignore_and_skips_symlinked_folders(self, tmp_path):
        (tmp_path / ".pyrunignore").write_text("# comment\nsecret.txt\n")
        for rel in ("main.py", "secret.txt", "src/a.py", ".git/HEAD", "src/__pycache__/a.pyc", "tmp/x.tmp"):
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(rel)
        (tmp_path / "empty").mkdir()
        (tmp_path / "loop").symlink_to(tmp_path)
        (tmp_path / "link.py").symlink_to(tmp_path / "main.py")
        tree = bundle.scan(tmp_path, Ignore.for_folder(tmp_path, ["*.tmp"]))
        assert sorted(tree.files) == [".pyrunignore", "link.py", "main.py", "src/a.py"]
        assert tree.dirs == {"empty", "src", "tmp"} and tree.skipped == ["loop"]
        assert bundle.empty_dirs(tree) == {"empty", "tmp"}

    def test_zips_are_batched_and_repetitive_big_files_are_stored(self, tmp_path, monkeypatch):
        (tmp_path / "zeros.bin").write_bytes(bytes(3 * 1024 * 1024))
        (tmp_path / "a.py").write_text("print(1)\n")
        tree = bundle.scan(tmp_path, Ignore())
        monkeypatch.setattr(bundle, "MAX_ENTRIES_PER_ZIP", 1)
        groups = list(bundle.batches(tree))
        assert groups == [["a.py"], ["zeros.bin"]]
        with bundle.build_zip(tmp_path, groups[1]) as out, zipfile.ZipFile(out) as archive:
            assert archive.getinfo("zeros.bin").compress_type == zipfile.ZIP_STORED


class TestPushPlan:
    REMOTE = [
        {"path": "old.py", "type": "file"},
        {"path": "src", "type": "dir"},
        {"path": "src/a.py", "type": "file"},
        {"path": "src/gone.py", "type": "file"},
        {"path": "stale", "type": "dir"},
        {"path": "stale/x.py", "type": "file"},
        {"path": "out", "type": "dir"},
        {"path": "out/__pycache__", "type": "dir"},
        {"path": "out/__pycache__/m.pyc", "type": "file"},
        {"path": "out/result.txt", "type": "file"},
        {"path": "pkg", "type": "file"},
    ]

    def test_deletions_are_topmost_and_spare_ignored_paths_and_their_folders(self):
        local = bundle.LocalTree(Path("."), files={"src/a.py": 1, "pkg/__init__.py": 1}, dirs={"src", "pkg"})
        found = clashes(self.REMOTE, local)
        assert found == ["pkg"]  # a remote file where DIR has a folder: removed before the upload
        planned = deletions(self.REMOTE, local, Ignore(), already=set(found))
        assert planned == ["old.py", "out/result.txt", "src/gone.py", "stale"]


class TestClient:
    def _api(self, handler, **kwargs) -> Api:
        return Api("http://pyrun.test", "tok", "acme", sleep=lambda s: None, transport=httpx.MockTransport(handler))

    def test_sends_token_and_org_and_retries_a_get_on_503(self):
        calls = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request)
            return httpx.Response(503) if len(calls) < 3 else httpx.Response(200, json={"ok": True})

        assert self._api(handler).get("me/") == {"ok": True}
        assert len(calls) == 3
        assert calls[0].headers["Authorization"] == "Token tok" and calls[0].headers["X-PyRun-Org"] == "acme"

    def test_a_post_is_not_retried_after_it_may_have_arrived(self):
        calls = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request)
            raise httpx.ReadTimeout("slow", request=request)

        with pytest.raises(CliError) as failed:
            self._api(handler).post("workspaces/1/runs/", json={}, idempotent=False)
        assert (len(calls), failed.value.code) == (1, Exit.UNREACHABLE)

    def test_an_unreachable_server_exits_5_after_retries(self):
        calls = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request)
            raise httpx.ConnectError("refused", request=request)

        with pytest.raises(CliError) as failed:
            self._api(handler).post("workspaces/1/runs/", json={}, idempotent=False)
        assert (len(calls), failed.value.code) == (5, Exit.UNREACHABLE)
        assert "Cannot reach http://pyrun.test" in failed.value.message

    def test_error_bodies_become_the_message_and_4xx_is_a_usage_error(self):
        body = {"error": {"id": "api:user:invalid", "message": "Some fields are invalid.", "fields": {"name": ["x"]}}}
        api = self._api(lambda request: httpx.Response(400, json=body))
        with pytest.raises(ApiError) as failed:
            api.post("workspaces/", json={})
        assert failed.value.code == Exit.USAGE and failed.value.error_id == "api:user:invalid"
        assert failed.value.message == "Some fields are invalid. (name: x)"

    def test_a_non_api_answer_says_so(self):
        api = self._api(lambda request: httpx.Response(404, text="<html>nginx</html>"))
        with pytest.raises(ApiError, match="not a PyRun API answer"):
            api.get("me/")


def test_unreachable_platform_exits_5_after_retries(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(client, "BACKOFF", 0.01)
    monkeypatch.setenv("PYRUN_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.setenv("PYRUN_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    assert main(["status", "1"]) == Exit.UNREACHABLE
    assert "Cannot reach http://127.0.0.1:9" in capsys.readouterr().err


def test_settings_precedence_and_a_saved_token_stays_with_its_server(tmp_path):
    from pyrun_cli import config

    path = tmp_path / "config.json"
    config.save(path, config.Settings(url="https://pyrun.example", token="saved", org="acme"))
    env = {"PYRUN_CONFIG": str(path)}
    assert config.resolve(url=None, token=None, org=None, env=env) == config.Settings(
        "https://pyrun.example", "saved", "acme"
    )
    assert config.resolve(url=None, token="flag", org=None, env={**env, "PYRUN_TOKEN": "env"}).token == "flag"
    assert config.resolve(url=None, token=None, org=None, env={**env, "PYRUN_TOKEN": "env"}).token == "env"
    elsewhere = config.resolve(url="http://other:8000/", token=None, org=None, env=env)
    assert elsewhere == config.Settings("http://other:8000", None, None)
    path.write_text("[1]")
    with pytest.raises(CliError, match="does not hold a JSON object"):
        config.resolve(url=None, token=None, org=None, env=env)


def test_task_output_goes_to_stderr_as_it_is_and_the_scripts_stdout_stays_apart():
    import io

    from pyrun_cli.watch import print_chunks

    out, err = io.StringIO(), io.StringIO()
    chunks = [{"stream": "stdout", "text": "[0, 1]\n"}, {"stream": "task", "text": "[task M000/0] hello\n"},
              {"stream": "system", "text": "note\n"}]  # fmt: skip
    print_chunks(chunks, out, err)
    assert out.getvalue() == "[0, 1]\n"
    assert err.getvalue() == "[task M000/0] hello\n[pyrun] note\n"
