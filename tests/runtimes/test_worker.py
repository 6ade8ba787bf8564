"""A build through a real Celery worker (its own process, the `builds` queue, the test database)."""

from __future__ import annotations

import subprocess
import time

import pytest

from runtimes.models import Runtime
from tests.runtimes.conftest import SIX, make_workspace
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow


class TestBuildOnAWorker(TenantTest):
    def wait_for(self, runtime_id: int, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.api("viewer").get(f"/api/v1/runtimes/{runtime_id}/").json()
            if body["state"] in ("ready", "failed"):
                return body
            time.sleep(0.3)
        raise AssertionError(f"runtime {runtime_id} still {body['state']} after {timeout}s")

    def test_build_through_the_worker_ends_ready_with_a_readable_log(self, celery_worker):
        workspace = make_workspace(self.t, SIX)
        url = f"/api/v1/workspaces/{workspace.pk}/runtime/"
        queued = self.api("member").post(url)
        assert queued.status_code == 202, queued.content
        assert queued.json()["state"] in ("pending", "building")
        runtime_id = queued.json()["id"]
        body = self.wait_for(runtime_id)
        assert body["state"] == "ready", body["error"]
        runtime = Runtime.objects.get(pk=runtime_id)
        assert runtime.celery_task_id and runtime.attempts == 1
        done = subprocess.run([str(runtime.python), "-c", "import six"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        log = self.api("viewer").get(f"/api/v1/runtimes/{runtime_id}/log/").json()
        texts = [line["text"] for line in log["lines"]]
        assert any("+ six==" in text for text in texts) and texts[-1].startswith("== ready")
        # Asking again reuses it: no task, no new log line.
        again = self.api("member").post(url)
        assert again.status_code == 200 and again.json()["id"] == runtime_id
        after = self.api("viewer").get(f"/api/v1/runtimes/{runtime_id}/log/", {"after": log["next_after"]}).json()
        assert after["lines"] == []
