"""Runs through a real Celery worker: exit codes, every line of a loud script, cancel and time limits that leave
no process behind, the org's concurrency quota, the sandbox, resource limits with readable reasons."""

from __future__ import annotations

import json
import time

import psutil
import pytest
from django.conf import settings

from jobs.models import Job
from tests.jobs.conftest import (
    make_workspace,
    read_logs,
    start_run,
    wait_for,
    wait_for_output,
)
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow


def processes_with(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def running(process: psutil.Process) -> bool:
    """Still there and not a zombie; a process that ends between the listing and this check is gone."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone_within(marker: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [p for p in processes_with(marker) if running(p)]:
            return True
        time.sleep(0.05)
    return False


class TestRuns(TenantTest):
    def test_exit_code_and_error(self, jobs_worker):
        workspace = make_workspace(self.t, {"fail.py": "import sys\nprint('about to fail')\nsys.exit(3)\n"})
        job = start_run(self.api("member"), workspace.pk, "fail.py")
        done = wait_for(self.api("viewer"), job["id"])
        assert done["state"] == "failed"
        assert done["exit_code"] == 3
        assert done["error"] == {"id": "job:user:exit-code", "message": "The script exited with code 3."}
        assert done["runtime"] and len(done["snapshot_hash"]) == 64
        assert done["started_at"] and done["running_at"] and done["finished_at"] and done["duration_seconds"] > 0
        chunks, last = read_logs(self.api("viewer"), job["id"])
        assert last["state"] == "failed" and last["complete"]
        assert "about to fail\n" in "".join(c["text"] for c in chunks if c["stream"] == "stdout")
        system = "".join(c["text"] for c in chunks if c["stream"] == "system")
        assert "Code snapshot" in system and "== exited with code 3" in system

    def test_a_hundred_thousand_lines_arrive_in_order_with_gap_free_seqs(self, jobs_worker):
        script = (
            "import sys\n"
            "for i in range(100_000):\n"
            "    print(f'line {i}')\n"
            "    if i % 10_000 == 0:\n"
            "        print(f'progress {i}', file=sys.stderr)\n"
        )
        workspace = make_workspace(self.t, {"loud.py": script})
        job = start_run(self.api("member"), workspace.pk, "loud.py")
        done = wait_for(self.api("viewer"), job["id"], timeout=180)
        assert done["state"] == "succeeded", done
        chunks, _ = read_logs(self.api("viewer"), job["id"], limit=50)
        assert [c["seq"] for c in chunks] == list(range(1, len(chunks) + 1))
        stdout = "".join(c["text"] for c in chunks if c["stream"] == "stdout").splitlines()
        assert stdout == [f"line {i}" for i in range(100_000)]
        stderr = "".join(c["text"] for c in chunks if c["stream"] == "stderr").splitlines()
        assert stderr == [f"progress {i}" for i in range(0, 100_000, 10_000)]
        assert done["log_lines"] >= 100_010
        assert done["log_bytes"] >= sum(len(f"line {i}\n") for i in range(100_000))

    @pytest.mark.parametrize("detach", [False, True], ids=["child", "grandchild-in-new-session"])
    def test_cancel_kills_every_process_at_once(self, jobs_worker, detach):
        marker = f"pyrun-cancel-{time.monotonic_ns()}"
        script = (
            "import subprocess, sys, time\n"
            f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', '{marker}'],"
            f" start_new_session={detach})\n"
            "print('started', flush=True)\n"
            "time.sleep(600)\n"
        )
        workspace = make_workspace(self.t, {"sleepy.py": script})
        job = start_run(self.api("member"), workspace.pk, "sleepy.py")
        wait_for_output(self.api("viewer"), job["id"], "started\n")
        assert processes_with(marker)
        asked = time.monotonic()
        response = self.api("member").post(f"/api/v1/jobs/{job['id']}/cancel/")
        assert response.status_code == 200
        assert response.json()["state"] == "cancelled"
        assert gone_within(marker, 2 - (time.monotonic() - asked)), processes_with(marker)
        done = wait_for(self.api("viewer"), job["id"])
        assert done["state"] == "cancelled" and done["error"]["id"] == "job:user:cancelled"
        chunks, _ = read_logs(self.api("viewer"), job["id"])
        assert "== cancelled" in chunks[-1]["text"]
        assert not (settings.DATA_DIR / "scratch" / str(job["id"])).exists()

    def test_max_duration_times_out(self, jobs_worker):
        self.t.org.max_job_seconds = 2
        self.t.org.save()
        marker = f"pyrun-timeout-{time.monotonic_ns()}"
        workspace = make_workspace(self.t, {"slow.py": f"import time\nprint('{marker}', flush=True)\ntime.sleep(60)\n"})
        job = start_run(self.api("member"), workspace.pk, "slow.py")
        wait_for_output(self.api("viewer"), job["id"], marker)
        done = wait_for(self.api("viewer"), job["id"], timeout=10)
        assert done["state"] == "timed_out"
        assert done["error"]["id"] == "job:user:timeout" and "2 seconds" in done["error"]["message"]
        assert (
            2
            <= (Job.objects.get(pk=job["id"]).finished_at - Job.objects.get(pk=job["id"]).running_at).total_seconds()
            < 5
        )
        # The job is marked timed_out just before its sandbox is killed; the kernel takes a moment to tear down
        # the sandbox's namespaces.
        assert gone_within("slow.py", 10), processes_with("slow.py")

    def test_concurrency_quota_keeps_the_second_job_queued_until_the_first_ends(self, jobs_worker):
        self.t.org.max_concurrent_jobs = 1
        self.t.org.save()
        workspace = make_workspace(self.t, {"a.py": "import time\ntime.sleep(4)\nprint('a')\n", "b.py": "print('b')\n"})
        first = start_run(self.api("member"), workspace.pk, "a.py")
        second = start_run(self.api("member"), workspace.pk, "b.py")
        while (state := self.api("viewer").get(f"/api/v1/jobs/{first['id']}/").json()["state"]) not in (
            "succeeded",
            "failed",
        ):
            assert self.api("viewer").get(f"/api/v1/jobs/{second['id']}/").json()["state"] == "queued", state
            time.sleep(0.2)
        assert state == "succeeded"
        done = wait_for(self.api("viewer"), second["id"])
        assert done["state"] == "succeeded"
        a, b = Job.objects.get(pk=first["id"]), Job.objects.get(pk=second["id"])
        assert b.started_at >= a.finished_at

    def test_the_sandbox_hides_the_platform(self, jobs_worker):
        other = make_workspace(self.t, {"secret.txt": "other workspace data"}, name="Other")
        probe = {
            "data_dir": str(settings.DATA_DIR),
            "database": str(settings.DATABASES["default"]["TEST"]["NAME"]),
            "other_workspace": str(other.path / "secret.txt"),
            "workspaces_root": str(settings.WORKSPACES_ROOT),
            "secrets": str(settings.DATA_DIR / "secrets"),
        }
        script = (
            "import json, os\n"
            f"paths = {json.dumps(probe)}\n"
            "seen = {}\n"
            "for name, path in paths.items():\n"
            "    try:\n"
            "        seen[name] = os.listdir(path) if os.path.isdir(path) else open(path).read()[:50]\n"
            "    except OSError as exc:\n"
            "        seen[name] = type(exc).__name__\n"
            "print('PROBE ' + json.dumps({'seen': seen, 'env': dict(os.environ), 'cwd': os.getcwd(),\n"
            "                              'files': sorted(os.listdir('.'))}))\n"
        )
        workspace = make_workspace(self.t, {"probe.py": script})
        job = start_run(self.api("member"), workspace.pk, "probe.py", env={"MY_SETTING": "hello"})
        done = wait_for(self.api("viewer"), job["id"])
        assert done["state"] == "succeeded", done
        chunks, _ = read_logs(self.api("viewer"), job["id"])
        output = "".join(c["text"] for c in chunks)
        report = json.loads(output.split("PROBE ", 1)[1].splitlines()[0])
        seen = report["seen"]
        # The data dir exists only as the path down to the runtime's read-only bind: nothing else of it is there.
        assert seen.pop("data_dir") in ("FileNotFoundError", ["runtimes"])
        assert set(seen.values()) == {"FileNotFoundError"}, seen
        env = report["env"]
        assert env["MY_SETTING"] == "hello" and "LITHOPS_CONFIG" in env and env["PYTHONUNBUFFERED"] == "1"
        platform = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PYRUN_DATA_DIR", "DJANGO_SETTINGS_MODULE",
                    "FIELD_ENCRYPTION_KEY", "CELERY_BROKER_URL", "VIRTUAL_ENV"}  # fmt: skip
        assert not platform & set(env), platform & set(env)
        assert settings.SECRET_KEY not in output
        assert not [value for value in env.values() if "secrets" in value or "sqlite" in value]
        assert report["cwd"] == "/workspace" and "probe.py" in report["files"]

    def test_the_job_writes_to_its_copy_never_to_the_workspace(self, jobs_worker):
        script = (
            "open('main.py', 'w').write('overwritten')\nopen('new.txt', 'w').write('x')\nprint(open('main.py').read())"
        )
        workspace = make_workspace(self.t, {"write.py": script})
        before = (workspace.path / "main.py").read_text()
        job = start_run(self.api("member"), workspace.pk, "write.py")
        done = wait_for(self.api("viewer"), job["id"])
        assert done["state"] == "succeeded"
        assert (workspace.path / "main.py").read_text() == before
        assert not (workspace.path / "new.txt").exists()

    def test_a_fork_loop_ends_failed_with_the_process_limit(self, jobs_worker):
        self.t.org.job_max_processes = 40
        self.t.org.save()
        script = "import os, time\nwhile True:\n    if os.fork() == 0:\n        time.sleep(60)\n        os._exit(0)\n"
        workspace = make_workspace(self.t, {"forks.py": script})
        job = start_run(self.api("member"), workspace.pk, "forks.py")
        done = wait_for(self.api("viewer"), job["id"], timeout=60)
        assert done["state"] == "failed", done
        assert done["error"]["id"] == "job:user:process-limit", done["error"]
        assert "more than 40 processes" in done["error"]["message"]
        assert gone_within("forks.py", 5)

    def test_a_memory_hog_ends_failed_with_the_memory_limit(self, jobs_worker):
        self.t.org.job_memory_bytes = 512 * 1024**2
        self.t.org.save()
        workspace = make_workspace(
            self.t, {"hog.py": "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024**2))\n"}
        )
        job = start_run(self.api("member"), workspace.pk, "hog.py")
        done = wait_for(self.api("viewer"), job["id"], timeout=60)
        assert done["state"] == "failed", done
        assert done["error"]["id"] == "job:user:memory-limit"
        assert "512 MiB" in done["error"]["message"]

    def test_rerun_runs_the_same_snapshot_even_after_the_files_changed(self, jobs_worker):
        workspace = make_workspace(self.t, {"v.py": "print('version 1')\n"})
        job = start_run(self.api("member"), workspace.pk, "v.py")
        first = wait_for(self.api("viewer"), job["id"])
        (workspace.path / "v.py").write_text("print('version 2')\n")
        again = self.api("member").post(f"/api/v1/jobs/{job['id']}/rerun/").json()
        second = wait_for(self.api("viewer"), again["id"])
        assert second["state"] == "succeeded"
        assert (second["snapshot_hash"], second["runtime"]) == (first["snapshot_hash"], first["runtime"])
        chunks, _ = read_logs(self.api("viewer"), again["id"])
        assert "version 1\n" in "".join(c["text"] for c in chunks if c["stream"] == "stdout")
        assert second["cpu_seconds"] is not None and second["peak_rss_bytes"]

    def test_a_runtime_that_fails_to_build_fails_the_job_with_its_error(self, jobs_worker):
        spec = "name: x\ndependencies:\n  - python=3.11\n  - pip:\n      - this-package-does-not-exist-pyrun-xyz\n"
        workspace = make_workspace(self.t, {".pyrun/environment.yml": spec})
        job = start_run(self.api("member"), workspace.pk, "main.py")
        done = wait_for(self.api("viewer"), job["id"], timeout=300)
        assert done["state"] == "failed"
        assert done["error"]["id"] == "job:user:runtime-failed"
        assert "this-package-does-not-exist-pyrun-xyz" in done["error"]["message"]
        assert done["runtime"] and done["exit_code"] is None
        chunks, _ = read_logs(self.api("viewer"), job["id"])
        system = "".join(c["text"] for c in chunks if c["stream"] == "system")
        assert f"[runtime {done['runtime']}] == failed" in system

    def test_viewer_cannot_cancel_a_running_job(self, jobs_worker):
        workspace = make_workspace(self.t, {"s.py": "import time\nprint('up', flush=True)\ntime.sleep(600)\n"})
        job = start_run(self.api("member"), workspace.pk, "s.py")
        wait_for_output(self.api("viewer"), job["id"], "up\n")
        response = self.api("viewer").post(f"/api/v1/jobs/{job['id']}/cancel/")
        assert response.status_code == 403
        assert self.api("outsider").post(f"/api/v1/jobs/{job['id']}/cancel/").status_code == 404
        assert self.api("viewer").get(f"/api/v1/jobs/{job['id']}/").json()["state"] == "running"
        assert self.api("admin").post(f"/api/v1/jobs/{job['id']}/cancel/").status_code == 200
