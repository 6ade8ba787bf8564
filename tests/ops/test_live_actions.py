"""Admin actions against a real Celery worker and real sandboxed runs: cancel and mark-failed end a running job,
a quota changed in the admin applies to the next run, re-run runs the same snapshot again, and the dashboard
shows the running job and the worker running it."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from jobs.models import Job
from pyrun_web.audit.models import Action, AuditEntry
from tests.audit.test_audit import org_change_form
from tests.jobs.conftest import logs_text, make_workspace, start_run, wait_for, wait_for_output
from tests.jobs.test_runs import gone_within, processes_with
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow

SLEEPER = "import sys, time\nprint('started', sys.argv[1:], flush=True)\ntime.sleep(600)\n"


class TestLiveActions(TenantTest):
    @pytest.fixture(autouse=True)
    def _staff(self, client, tenants):
        tenants.owner.is_staff = tenants.owner.is_superuser = True
        tenants.owner.save()
        client.force_login(tenants.owner)
        self.client = client

    def start_sleeper(self, marker: str) -> dict:
        workspace = make_workspace(self.t, {"sleepy.py": SLEEPER})
        job = start_run(self.api("member"), workspace.pk, "sleepy.py", args=[marker])
        wait_for_output(self.api("viewer"), job["id"], "started")
        assert processes_with(marker)
        return job

    def action(self, name: str, job_id: int):
        url = reverse("admin:jobs_job_changelist")
        return self.client.post(url, {"action": name, "_selected_action": [job_id]}, follow=True)

    def test_dashboard_lists_the_running_job_then_cancel_ends_it(self, jobs_worker):
        marker = f"pyrun-ops-cancel-{time.monotonic_ns()}"
        job = self.start_sleeper(marker)
        status = self.client.get("/ops/status.json").json()
        listed = {row["id"]: row for row in status["jobs"]["jobs"]}
        assert listed[job["id"]]["state"] == "running" and listed[job["id"]]["worker"]
        running = [task for worker in status["workers"]["workers"] for task in worker["tasks"]]
        assert {"name": "jobs.run", "job": job["id"]}.items() <= next(t for t in running if t.get("job")).items()
        assert any("celery" in worker["queues"] for worker in status["workers"]["workers"])

        asked = time.monotonic()
        response = self.action("cancel", job["id"])
        assert "Cancelled 1 job(s); 0 had already ended." in response.content.decode()
        assert gone_within(marker, 5 - (time.monotonic() - asked)), processes_with(marker)
        done = wait_for(self.api("viewer"), job["id"])
        assert done["state"] == "cancelled" and done["error"]["id"] == "job:user:cancelled"
        entry = AuditEntry.objects.get(action=Action.JOB_CANCELLED)
        assert entry.actor == self.t.owner and entry.details == {"state": ["running", "cancelled"]}

    def test_mark_failed_stops_a_running_job(self, jobs_worker):
        marker = f"pyrun-ops-fail-{time.monotonic_ns()}"
        job = self.start_sleeper(marker)
        response = self.action("mark_failed", job["id"])
        assert "Marked 1 job(s) failed" in response.content.decode()
        assert gone_within(marker, 5), processes_with(marker)
        done = wait_for(self.api("viewer"), job["id"])
        assert done["state"] == "failed" and done["error"]["id"] == "job:platform:marked-failed"
        assert AuditEntry.objects.filter(action=Action.JOB_MARKED_FAILED, target_id=str(job["id"])).exists()

    def test_quota_changed_in_the_admin_applies_to_the_next_run_and_rerun_repeats_it(self, jobs_worker):
        workspace = make_workspace(self.t, {"hello.py": "print('hello from the sandbox')\n"})
        before = wait_for(self.api("viewer"), start_run(self.api("member"), workspace.pk, "hello.py")["id"])
        assert before["state"] == "succeeded"
        assert "Limits: 4 GiB memory, 512 processes, 3600 s" in logs_text(self.api("viewer"), before["id"], "system")

        url = reverse("admin:tenancy_organization_change", args=[self.t.org.pk])
        form = org_change_form(self.t.org, job_memory_bytes=768 * 1024**2, max_job_seconds=77)
        assert self.client.post(url, form).status_code == 302

        after = wait_for(self.api("viewer"), start_run(self.api("member"), workspace.pk, "hello.py")["id"])
        assert after["state"] == "succeeded"
        assert "Limits: 768 MiB memory, 512 processes, 77 s" in logs_text(self.api("viewer"), after["id"], "system")

        response = self.action("rerun", after["id"])
        assert f"Job {after['id']} re-run as job" in response.content.decode()
        again = Job.objects.get(rerun_of_id=after["id"])
        done = wait_for(self.api("viewer"), again.pk)
        assert done["state"] == "succeeded" and done["snapshot_hash"] == after["snapshot_hash"]
        assert "hello from the sandbox" in logs_text(self.api("viewer"), again.pk, "stdout")
        assert AuditEntry.objects.filter(action=Action.QUOTA_CHANGED).count() == 1
        assert AuditEntry.objects.get(action=Action.JOB_RERUN).details == {"new_job": again.pk}
