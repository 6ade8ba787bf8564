"""`pyrun run/logs/status/cancel` end to end: the real ASGI app, a real Celery worker, real sandboxed jobs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyrun_cli import main
from pyrun_cli.errors import Exit
from tests.conftest import worker_env

pytestmark = pytest.mark.slow

TEMPLATE_SPEC = Path(__file__).resolve().parents[2] / "templates_lib" / "templates" / "python" / ".pyrun"
SCRIPTS = {
    "ok.py": "import os, sys\n"
    "print('hello from', sys.argv[1:], os.environ['GREETING'])\n"
    "print('to stderr', file=sys.stderr)\n",
    "fail.py": "print('about to fail')\nraise SystemExit(3)\n",
    "sleep.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n",
}


@pytest.fixture
def pushed(tenants, live_server_url, celery_worker, tmp_path, monkeypatch):
    """A workspace `ci-jobs` holding the scripts and the python template's runtime spec, pushed with the CLI."""
    monkeypatch.setenv("PYRUN_URL", live_server_url)
    monkeypatch.setenv("PYRUN_TOKEN", tenants.keys["member"])
    monkeypatch.setenv("PYRUN_CONFIG", str(tmp_path / "no-config.json"))
    src = tmp_path / "repo"
    (src / ".pyrun").mkdir(parents=True)
    (src / ".pyrun" / "environment.yml").write_text((TEMPLATE_SPEC / "environment.yml").read_text())
    for name, text in SCRIPTS.items():
        (src / name).write_text(text)
    assert main(["push", str(src), "--workspace", "ci-jobs", "--create"]) == Exit.OK
    return worker_env({"PYRUN_URL": live_server_url, "PYRUN_TOKEN": tenants.keys["member"]})


def _spawn(*args: str, env: dict, sigint_ignored: bool = False) -> subprocess.Popen:
    # sigint_ignored: started as `pyrun … &` in a CI script is (a non-interactive shell ignores SIGINT for it).
    return subprocess.Popen(
        [sys.executable, "-m", "pyrun_cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )  # fmt: skip


def _job_id_from_stderr(process: subprocess.Popen) -> int:
    line = process.stderr.readline()  # "[pyrun] job 12 queued: sleep.py in ci-jobs"
    assert line.startswith("[pyrun] job "), line
    return int(line.split()[2])


def _wait_until_printed(tenants, job_id: int, needle: str, timeout: float = 180) -> None:
    client, deadline = tenants.client("member"), time.monotonic() + timeout
    while needle not in "".join(c["text"] for c in client.get(f"/api/v1/jobs/{job_id}/logs/").json()["chunks"]):
        assert time.monotonic() < deadline, f"job {job_id} never printed {needle!r}"
        time.sleep(0.3)


def test_run_wait_follow_json_and_the_exit_codes_of_success_and_failure(pushed, tenants, capsys):
    code = main(["run", "ci-jobs", "ok.py", "a", "--follow", "--json", "--env", "GREETING=hi", "--", "--b"])
    out, err = capsys.readouterr()
    assert code == Exit.OK, err
    assert "hello from ['a', '--b'] hi\n" in out and "to stderr\n" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["state"] == "succeeded" and summary["exit_code"] == 0 and summary["error"] is None
    assert summary["duration_seconds"] >= 0 and summary["url"].endswith(f"/api/v1/jobs/{summary['job']}/")

    assert main(["run", "ci-jobs", "fail.py", "--wait"]) == Exit.FAILED
    out, err = capsys.readouterr()
    assert "about to fail" not in out  # --wait alone does not stream
    assert "failed (exit code 3)" in err and "The script exited with code 3." in err

    assert main(["run", "ci-jobs", "fail.py"]) == Exit.OK  # no --wait: the id, at once
    job_id = int(capsys.readouterr().out.strip())
    assert main(["logs", str(job_id), "--follow"]) == Exit.FAILED
    assert "about to fail" in capsys.readouterr().out
    assert main(["status", str(job_id), "--json"]) == Exit.OK
    assert json.loads(capsys.readouterr().out) | {"duration_seconds": 0} == {
        "job": job_id, "state": "failed", "exit_code": 3, "duration_seconds": 0,
        "error": {"id": "job:user:exit-code", "message": "The script exited with code 3."},
        "url": f"{pushed['PYRUN_URL']}/api/v1/jobs/{job_id}/",
    }  # fmt: skip
    assert main(["cancel", str(job_id)]) == Exit.OK  # already ended: idempotent for clean-up steps
    assert "had already ended (failed)" in capsys.readouterr().out

    assert main(["run", "ci-jobs", "missing.py", "--wait"]) == Exit.USAGE
    assert "There is no file 'missing.py' in this workspace to run." in capsys.readouterr().err


def test_cancel_ctrl_c_and_timeout_end_a_waiting_run_with_3_and_4(pushed, tenants):
    # `pyrun cancel` from elsewhere: the waiting `pyrun run --wait` sees the job cancelled and exits 3.
    waiting = _spawn("run", "ci-jobs", "sleep.py", "--wait", env=pushed)
    job_id = _job_id_from_stderr(waiting)
    _wait_until_printed(tenants, job_id, "sleeping")
    cancel = subprocess.run([sys.executable, "-m", "pyrun_cli", "cancel", str(job_id)], capture_output=True,
                            text=True, env=pushed)  # fmt: skip
    assert cancel.returncode == 0 and f"job {job_id}: cancelled" in cancel.stdout, cancel.stderr
    assert waiting.wait(30) == Exit.CANCELLED

    # Ctrl-C on the waiting CLI cancels the job on the server, then exits 3; even when the CLI was started with
    # SIGINT ignored (as `pyrun run … &` in a CI script is), it must not leave the job running.
    following = _spawn("run", "ci-jobs", "sleep.py", "--follow", "--json", env=pushed, sigint_ignored=True)
    job_id = _job_id_from_stderr(following)
    _wait_until_printed(tenants, job_id, "sleeping")
    following.send_signal(signal.SIGINT)
    out, err = following.communicate(timeout=30)
    assert following.returncode == Exit.CANCELLED, err
    assert json.loads(out.strip().splitlines()[-1])["state"] == "cancelled"
    assert tenants.client("member").get(f"/api/v1/jobs/{job_id}/").json()["state"] == "cancelled"

    # --timeout: give up waiting, cancel the job, exit 4.
    timed = subprocess.run([sys.executable, "-m", "pyrun_cli", "run", "ci-jobs", "sleep.py", "--timeout", "2"],
                           capture_output=True, text=True, env=pushed, timeout=60)  # fmt: skip
    assert timed.returncode == Exit.TIMED_OUT, timed.stderr
    job_id = int(timed.stderr.split()[2])
    assert tenants.client("member").get(f"/api/v1/jobs/{job_id}/").json()["state"] == "cancelled"
