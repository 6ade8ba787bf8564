"""Redis restarted while a job prints: the job still completes, its log is complete (every line once, seqs without
gaps), and the worker goes on taking work once the broker is back.

The test has its own Redis (the session's shared one is left alone) and its own worker on it; the test process
sends its tasks to that Redis too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from jobs import services
from jobs.models import ACTIVE_STATES, Job, LogChunk
from pyrun_web.infra import embedded_redis
from tests.conftest import stop_process, worker_env
from tests.jobs.conftest import TERMINAL, make_workspace, read_logs, start_run, wait_for
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow

LINES = 3000
SCRIPT = f"import time\nfor i in range({LINES}):\n    print(i, flush=True)\n    time.sleep(0.002)\n"
OUTAGE_SECONDS = 2.0


class DedicatedRedis:
    """An embedded redis-server on a Unix socket in a short temp dir (socket paths are limited to 107 bytes)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="pyrun-rr-"))
        self.socket = self.directory / "redis.sock"
        self.url = f"unix://{self.socket}?db=0"
        self.broker_url = f"redis+socket://{self.socket}?virtual_host=0"  # as settings._kombu_url spells it
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = embedded_redis.start(self.directory, self.socket)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # a clean shutdown: the append-only file keeps the queues
            self.process.wait(15)
            self.process = None


@pytest.fixture
def dedicated(transactional_db, monkeypatch):
    """The dedicated Redis, a worker on it, and the test's dispatches sent to it: yields (redis, worker)."""
    from celery import Celery

    redis = DedicatedRedis()
    redis.start()
    name = f"redis-restart-{os.getpid()}-{time.monotonic_ns()}@{os.uname().nodename}"
    env = worker_env({
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.broker_url,
        "CELERY_RESULT_BACKEND": redis.broker_url,
    })  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pyrun_web", "worker", "-l", "WARNING", "-c", "1",
         "--without-mingle", "--without-gossip", "-n", name, "-Q", "celery,builds"],
        env=env,
    )  # fmt: skip

    # The project's app keeps pools on the session's broker (a connection= argument does not reach its control
    # replies): an app of its own on the dedicated one sends and pings.
    app = Celery("redis-restart", broker=redis.broker_url, set_as_current=False)

    def send_run(job_id: int, task_id: str) -> None:  # jobs.services.send_run, on the dedicated broker
        app.send_task("jobs.run", args=[job_id], task_id=task_id, queue="celery")

    monkeypatch.setattr(services, "send_run", send_run)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5, destination=[name]):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker on the dedicated redis did not start ({worker.poll()})")
        yield redis, worker
    finally:
        for job in Job.objects.filter(state__in=ACTIVE_STATES):
            job.cancel()
        if redis.process is None:  # the test failed while redis was down
            redis.start()
        deadline = time.monotonic() + 15
        while Job.objects.filter(started_at__isnull=False, log_complete=False).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        stop_process(worker)
        redis.stop()
        app.close()
        shutil.rmtree(redis.directory, ignore_errors=True)


class TestRedisRestart(TenantTest):
    def test_restart_mid_job(self, dedicated):
        redis, worker = dedicated
        workspace = make_workspace(self.t, {"count.py": SCRIPT, "hello.py": "print('hello again')\n"})
        viewer = self.api("viewer")
        job = start_run(self.api("member"), workspace.pk, "count.py")

        # Running and printing (the first run builds the runtime: allow for it).
        deadline = time.monotonic() + 600
        while not LogChunk.objects.filter(job_id=job["id"], stream="stdout").exists():
            state = Job.objects.get(pk=job["id"]).state
            assert state not in TERMINAL, f"job {state} before printing"
            assert time.monotonic() < deadline, f"job still {state}"
            time.sleep(0.05)
        assert Job.objects.get(pk=job["id"]).state == "running"

        began = time.monotonic()
        redis.stop()
        time.sleep(OUTAGE_SECONDS)
        assert Job.objects.get(pk=job["id"]).state == "running"  # still printing while redis is down
        redis.start()
        restarted = time.monotonic()

        body = wait_for(viewer, job["id"], timeout=120)
        finished = time.monotonic()
        assert body["state"] == "succeeded", body
        assert body["exit_code"] == 0, body
        assert worker.poll() is None, "the worker died with the broker"

        chunks, last = read_logs(viewer, job["id"])
        assert last["complete"]
        seqs = [chunk["seq"] for chunk in chunks]
        assert seqs == list(range(1, len(seqs) + 1)), seqs  # gap-free, each once
        stdout = "".join(chunk["text"] for chunk in chunks if chunk["stream"] == "stdout")
        assert stdout == "".join(f"{i}\n" for i in range(LINES))  # every line 0..2999 exactly once, in order
        system = "".join(chunk["text"] for chunk in chunks if chunk["stream"] == "system")
        assert system.count("$ python count.py") == 1, system  # one run, no redelivered second one
        assert "== exited with code 0" in system, system

        # The worker consumes again after the broker came back: a second job runs.
        again = start_run(self.api("member"), workspace.pk, "hello.py")
        second = wait_for(viewer, again["id"], timeout=120)
        assert second["state"] == "succeeded", second
        again_chunks, _ = read_logs(viewer, again["id"])
        assert "hello again\n" in "".join(c["text"] for c in again_chunks if c["stream"] == "stdout")
        assert Job.objects.get(pk=job["id"]).state == "succeeded"  # a redelivery of the first did nothing
        print(
            f"\nredis down {restarted - began:.1f} s; first job done {finished - restarted:.1f} s after the restart; "
            f"{len(chunks)} chunks"
        )
