"""A worker killed with SIGKILL mid-job: its sandbox dies with it, the reaper fails the job as worker-lost, and the
message redelivered afterwards does nothing."""

from __future__ import annotations

import time
from datetime import timedelta

import psutil
import pytest
from django.utils import timezone

from jobs import runner
from jobs.models import Job
from jobs.tasks import reap
from tests.jobs.conftest import make_workspace, read_logs, start_run, wait_for_output
from tests.jobs.test_runs import gone_within, processes_with
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow


class TestWorkerLost(TenantTest):
    def test_kill_9_of_the_worker_then_the_reaper(self, celery_worker, settings):
        marker = f"pyrun-lost-{time.monotonic_ns()}"
        script = (
            "import subprocess, sys, time\n"
            f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', '{marker}'],"
            " start_new_session=True)\n"
            "print('up', flush=True)\n"
            "time.sleep(600)\n"
        )
        workspace = make_workspace(self.t, {"long.py": script})
        job = start_run(self.api("member"), workspace.pk, "long.py")
        wait_for_output(self.api("viewer"), job["id"], "up\n")
        assert processes_with(marker)
        worker = psutil.Process(celery_worker.pid)
        for process in [worker, *worker.children()]:  # the Celery processes only: the sandbox must follow them
            process.kill()
        assert gone_within(marker, 5), processes_with(marker)
        assert Job.objects.get(pk=job["id"]).state == "running"  # nobody has noticed yet

        # Nothing happens while the heartbeat is fresh; once it is stale, the beat's reaper fails the job.
        assert reap() == 0
        stale = timezone.now() - timedelta(seconds=settings.PYRUN_JOB_HEARTBEAT_TIMEOUT_SECONDS + 1)
        Job.objects.filter(pk=job["id"]).update(heartbeat_at=stale)
        assert reap() == 1
        body = self.api("viewer").get(f"/api/v1/jobs/{job['id']}/").json()
        assert body["state"] == "failed"
        assert body["error"]["id"] == "job:platform:worker-lost"
        _, last = read_logs(self.api("viewer"), job["id"])
        assert last["complete"]

        # Celery redelivers the unacknowledged message to the next worker: it finds the job claimed and leaves it.
        assert runner.run_job(job["id"], task_id="redelivered", worker="another") == "not claimed (failed)"
        assert Job.objects.get(pk=job["id"]).worker != "another"
