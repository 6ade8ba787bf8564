"""The operator console without a worker: who may enter, the dashboard's data, the admin pages and actions for
runtimes and cloud accounts, the build-minutes quota and the management commands."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import boto3
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job
from ops import services as ops
from pyrun_web.audit.models import Action, AuditEntry, Via
from pyrun_web.errors import PyrunError
from pyrun_web.infra.redis import redis_client
from pyrun_web.tenancy import aws_roles
from pyrun_web.tenancy.models import CloudAccount
from runtimes import services as runtime_services
from runtimes.models import Runtime
from runtimes.spec import parse_environment
from tests.sts_trust import record_sts_calls
from tests.tenancy.test_roles import NEW_ACCOUNT
from tests.tenants import PASSWORD, TenantTest

SIX = "name: demo\ndependencies:\n  - python=3.11\n  - pip:\n      - six\n"
EXTERNAL_ID = "ext-id-that-is-a-shared-secret-42"


@pytest.fixture
def sts_calls(aws_mock, monkeypatch) -> list[tuple[str, str | None]]:
    """Every AssumeRole moto received, as (RoleArn, ExternalId); trust policies' sts:ExternalId enforced."""
    return record_sts_calls(monkeypatch)


class ConsoleTest(TenantTest):
    @pytest.fixture(autouse=True)
    def _staff(self, client, tenants):
        self.staff = tenants.admin  # staff of the platform; also an admin of the org, which does not matter here
        self.staff.is_staff = self.staff.is_superuser = True
        self.staff.save()
        client.force_login(self.staff)
        self.client = client

    def make_job(self, state: str = "queued", workspace=None) -> Job:
        from workspaces.services import create_workspace

        workspace = workspace or create_workspace(org=self.t.org, user=self.t.member, name="Console", template="python")
        job = Job.objects.create(org=self.t.org, workspace=workspace, entrypoint="main.py", backend="lithops-localhost")
        if state in ("preparing", "running"):
            assert job.mark_dispatched("task") and job.claim(task_id="task", worker="w@test")
        if state == "running":
            assert job.mark_running()
        return job

    def make_runtime(self, spec_hash: str, *, last_used_days: float | None, state=Runtime.State.READY) -> Runtime:
        runtime = Runtime.objects.create(org=self.t.org, spec_hash=spec_hash, kind=Runtime.Kind.CONDA, state=state)
        when = None if last_used_days is None else timezone.now() - timedelta(days=last_used_days)
        old = timezone.now() - timedelta(days=365)
        Runtime.objects.filter(pk=runtime.pk).update(last_used_at=when, created_at=old)
        return runtime


# --- Who may enter ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "member", "owner"])
def test_non_staff_cannot_reach_the_admin_nor_the_dashboard(client, tenants, who):
    if who != "anonymous":
        client.force_login(tenants.user(who))  # the org's owner is no platform operator either
    for url in ("/admin/", "/admin/audit/auditentry/", "/admin/jobs/job/", "/ops/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    response = client.get("/ops/status.json")
    assert response.status_code == 403
    assert response.json()["error"]["id"] == "auth:user:forbidden"
    # A password login as a non-staff user at the admin's own form does not get in either.
    if who == "member":
        client.logout()
        login = client.post("/admin/login/", {"username": "member@example.com", "password": PASSWORD})
        assert login.status_code == 200 and client.get("/ops/").status_code == 302


# --- The dashboard ---------------------------------------------------------------------------------------------


class TestDashboard(ConsoleTest):
    def test_page_and_json_show_active_jobs_builds_failures_and_storage(self, monkeypatch):
        running, queued = self.make_job("running"), self.make_job()
        for error_id in ("job:user:timeout", "job:platform:worker-lost", "job:platform:worker-lost"):
            failed = self.make_job("running", workspace=running.workspace)
            failed.fail(PyrunError(error_id, seconds=1) if "timeout" in error_id else PyrunError(error_id))
        old = self.make_job("running", workspace=running.workspace)
        old.fail(PyrunError("job:platform:crashed"))
        Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=2))  # out of the window
        build = self.make_runtime("b" * 64, last_used_days=None, state=Runtime.State.BUILDING)
        monkeypatch.setattr(ops, "queue_names", lambda: ["ops-test-queue"])
        redis_client().delete("ops-test-queue")
        redis_client().lpush("ops-test-queue", "a", "b")
        redis_client().lpush("ops-test-queue\x06\x163", "c")  # a priority band of the same queue
        (settings.WORKSPACES_ROOT / str(running.workspace.storage_id) / "data.bin").write_bytes(b"x" * 300_000)
        try:
            status = self.client.get("/ops/status.json").json()
        finally:
            redis_client().delete("ops-test-queue", "ops-test-queue\x06\x163")
        assert status["health"]["checks"]["database"]["ok"] and status["health"]["checks"]["redis"]["ok"]
        assert status["queues"] == {"ops-test-queue": 3}
        assert status["jobs"]["counts"] == {"queued": 1, "preparing": 0, "running": 1}
        listed = {job["id"]: job for job in status["jobs"]["jobs"]}
        assert set(listed) == {running.pk, queued.pk}
        assert listed[running.pk]["state"] == "running" and listed[running.pk]["org"] == "acme-research"
        assert listed[running.pk]["url"] == f"/admin/jobs/job/{running.pk}/change/"
        assert [b["id"] for b in status["builds"]["builds"]] == [build.pk]
        failures = status["failures"]
        assert failures["total"] == 3
        assert [(row["error_id"], row["count"]) for row in failures["errors"]] == [
            ("job:platform:worker-lost", 2), ("job:user:timeout", 1),
        ]  # fmt: skip
        assert failures["errors"][0]["fault"] == "platform"
        assert status["storage"]["roots"]["workspaces"]["bytes"] >= 300_000
        assert status["workers"]["alive"] == 0  # no worker in this test: answered within the broadcast timeout
        page = self.client.get("/ops/")
        html = page.content.decode()
        assert page.status_code == 200 and 'id="ops-status"' in html and f'"id": {running.pk}' in html
        assert "Platform dashboard" in html

    def test_a_missing_worker_does_not_hang_the_page_and_storage_is_cached(self):
        started = time.monotonic()
        status = ops.platform_status(use_cache=False)
        assert time.monotonic() - started < 5
        assert status["workers"]["alive"] == 0
        first = ops.storage()
        (settings.WORKSPACES_ROOT / "ops-cache-probe.bin").write_bytes(b"x" * 100_000)
        try:
            assert ops.storage() == first  # within the minute: the cached walk
            assert ops.storage(use_cache=False)["roots"]["workspaces"]["bytes"] > first["roots"]["workspaces"]["bytes"]
        finally:
            (settings.WORKSPACES_ROOT / "ops-cache-probe.bin").unlink()

    def test_tree_bytes_counts_hard_links_once(self, tmp_path):
        (tmp_path / "a").write_bytes(b"x" * 50_000)
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "b").hardlink_to(tmp_path / "a")
        (tmp_path / "link").symlink_to(tmp_path / "a")
        single = ops.tree_bytes(tmp_path)
        assert 50_000 <= single < 2 * 50_000

    def test_admin_index_links_the_dashboard_and_audit_log(self):
        html = self.client.get("/admin/").content.decode()
        assert reverse("ops:dashboard") in html and reverse("admin:audit_auditentry_changelist") in html


# --- Runtimes: GC, delete, rebuild -----------------------------------------------------------------------------


class TestRuntimeAdmin(ConsoleTest):
    def test_gc_action_removes_only_unused_runtimes(self):
        days = settings.PYRUN_RUNTIME_GC_DAYS
        unused = self.make_runtime("1" * 64, last_used_days=days + 1)
        used = self.make_runtime("2" * 64, last_used_days=1)
        never_used_but_building = self.make_runtime("3" * 64, last_used_days=None, state=Runtime.State.BUILDING)
        selected = [unused.pk, used.pk, never_used_but_building.pk]
        url = reverse("admin:runtimes_runtime_changelist")
        response = self.client.post(url, {"action": "delete_unused", "_selected_action": selected}, follow=True)
        assert f"Deleted 1 runtime(s) unused for {days} days; kept 2 in use or building." in response.content.decode()
        assert set(Runtime.objects.values_list("pk", flat=True)) == {used.pk, never_used_but_building.pk}
        entry = AuditEntry.objects.get(action=Action.RUNTIMES_COLLECTED)
        assert entry.details["deleted"] == [unused.pk] and entry.actor == self.staff

    def test_collect_garbage_button_runs_the_beat_gc(self):
        days = settings.PYRUN_RUNTIME_GC_DAYS
        unused = self.make_runtime("1" * 64, last_used_days=days + 5)
        used = self.make_runtime("2" * 64, last_used_days=0.1)
        other_org = Runtime.objects.create(org=self.t.other_org, spec_hash="4" * 64, kind="conda", state="failed")
        Runtime.objects.filter(pk=other_org.pk).update(created_at=timezone.now() - timedelta(days=days + 1))
        assert self.client.get(reverse("admin:runtimes_runtime_gc")).status_code == 405  # POST only (CSRF)
        response = self.client.post(reverse("admin:runtimes_runtime_gc"), follow=True)
        assert "Garbage collection deleted 2 runtime(s)" in response.content.decode()
        assert list(Runtime.objects.values_list("pk", flat=True)) == [used.pk]
        assert sorted(AuditEntry.objects.get(action=Action.RUNTIMES_COLLECTED).details["deleted"]) == sorted(
            [unused.pk, other_org.pk]
        )
        assert "Collect garbage now" in self.client.get(reverse("admin:runtimes_runtime_changelist")).content.decode()

    def test_delete_refuses_a_building_runtime(self):
        idle = self.make_runtime("1" * 64, last_used_days=1)
        building = self.make_runtime("2" * 64, last_used_days=None, state=Runtime.State.BUILDING)
        assert self.client.get(reverse("admin:runtimes_runtime_delete", args=[building.pk])).status_code == 403
        response = self.client.post(reverse("admin:runtimes_runtime_delete", args=[idle.pk]), {"post": "yes"})
        assert response.status_code == 302
        url = reverse("admin:runtimes_runtime_changelist")
        response = self.client.post(
            url, {"action": "delete_selected_idle", "_selected_action": [building.pk]}, follow=True
        )
        assert "Deleted 0 runtime(s); kept 1 building." in response.content.decode()
        assert list(Runtime.objects.values_list("pk", flat=True)) == [building.pk]
        entry = AuditEntry.objects.get(action=Action.RUNTIME_DELETED)
        assert entry.target_id == str(idle.pk) and entry.via == Via.ADMIN

    def test_rebuild_is_refused_when_the_org_is_out_of_build_minutes(self, monkeypatch):
        sent: list[int] = []
        monkeypatch.setattr(runtime_services, "send_build", lambda runtime_id, task_id: sent.append(runtime_id))
        failed = self.make_runtime("1" * 64, last_used_days=1, state=Runtime.State.FAILED)
        start = timezone.now() - timedelta(minutes=3)
        Runtime.objects.filter(pk=failed.pk).update(started_at=start, finished_at=start + timedelta(minutes=2))
        self.t.org.max_build_minutes_per_month = 2
        self.t.org.save()
        url = reverse("admin:runtimes_runtime_changelist")
        response = self.client.post(url, {"action": "rebuild", "_selected_action": [failed.pk]}, follow=True)
        html = response.content.decode()
        assert "has used 2 of its 2 build minutes this month" in html and "Queued 0 rebuild(s)" in html
        assert Runtime.objects.get(pk=failed.pk).state == Runtime.State.FAILED
        self.t.org.max_build_minutes_per_month = 3
        self.t.org.save()
        response = self.client.post(url, {"action": "rebuild", "_selected_action": [failed.pk]}, follow=True)
        assert "Queued 1 rebuild(s)" in response.content.decode()
        assert AuditEntry.objects.get(action=Action.RUNTIME_REBUILT).target_id == str(failed.pk)


# --- The build-minutes quota ------------------------------------------------------------------------------------


class TestBuildMinutes(ConsoleTest):
    def test_usage_counts_this_months_builds_including_running_ones(self):
        now = timezone.now()
        done = self.make_runtime("1" * 64, last_used_days=1)
        Runtime.objects.filter(pk=done.pk).update(started_at=now - timedelta(minutes=10), finished_at=now)
        running = self.make_runtime("2" * 64, last_used_days=None, state=Runtime.State.BUILDING)
        Runtime.objects.filter(pk=running.pk).update(started_at=now - timedelta(minutes=5))
        last_month = self.make_runtime("3" * 64, last_used_days=40)
        long_ago = runtime_services.month_start(now) - timedelta(days=3)
        Runtime.objects.filter(pk=last_month.pk).update(started_at=long_ago, finished_at=long_ago + timedelta(hours=9))
        minutes = runtime_services.build_seconds_this_month(self.t.org, now) / 60
        assert 14.9 < minutes < 15.1
        assert runtime_services.build_seconds_this_month(self.t.other_org, now) == 0

    def test_a_new_build_is_refused_over_the_quota_and_allowed_without_one(self, monkeypatch):
        sent: list[int] = []
        monkeypatch.setattr(runtime_services, "send_build", lambda runtime_id, task_id: sent.append(runtime_id))
        now = timezone.now()
        spent = self.make_runtime("1" * 64, last_used_days=1)
        Runtime.objects.filter(pk=spent.pk).update(started_at=now - timedelta(minutes=61), finished_at=now)
        call_command("quota", self.t.org.slug, "--set", "max_build_minutes_per_month=60")
        self.t.org.refresh_from_db()
        with pytest.raises(PyrunError) as refused:
            runtime_services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        assert refused.value.id == "runtime:user:build-quota-exceeded" and refused.value.status == 403
        assert "61 of its 60 build minutes" in refused.value.message
        assert not Runtime.objects.exclude(pk=spent.pk).exists()
        # Other orgs are not affected; 0 (the platform default here) means no limit.
        runtime_services.ensure_runtime(self.t.other_org, parse_environment(SIX), "local")
        call_command("quota", self.t.org.slug, "--set", "max_build_minutes_per_month=default")
        self.t.org.refresh_from_db()
        assert self.t.org.limits.max_build_minutes_per_month == 0
        runtime_services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        assert Runtime.objects.filter(org=self.t.org).count() == 2


# --- Organisations: quotas and usage ----------------------------------------------------------------------------


class TestOrganisationAdmin(ConsoleTest):
    def test_list_and_page_show_usage_against_the_quotas(self):
        self.make_job("running")
        self.t.org.max_concurrent_jobs = 3
        self.t.org.max_build_minutes_per_month = 120
        self.t.org.save()
        html = self.client.get(reverse("admin:tenancy_organization_changelist")).content.decode()
        assert "1 / 3" in html and "0 / 120" in html
        page = self.client.get(reverse("admin:tenancy_organization_change", args=[self.t.org.pk])).content.decode()
        assert "Usage against the quotas" in page and "build minutes per month" in page
        assert "jobs holding a slot now" in page and "33 %" in page  # one of three slots
        assert "max_build_minutes_per_month" in page


# --- Cloud accounts: masked secrets, test connection ------------------------------------------------------------


class TestCloudAccountAdmin(ConsoleTest):
    def make_account(self) -> CloudAccount:
        return CloudAccount.objects.create(org=self.t.org, name="lab", region="eu-west-1",
                                           access_key_id=NEW_ACCOUNT["access_key_id"],
                                           secret_access_key=NEW_ACCOUNT["secret_access_key"],
                                           external_id=EXTERNAL_ID)  # fmt: skip

    def test_secrets_never_appear_in_admin_html(self):
        account = self.make_account()
        role_arn = "arn:aws:iam::123456789012:role/run"
        role = CloudAccount.objects.create(org=self.t.org, name="role", region="eu-west-1", auth_type="role",
                                           role_arn=role_arn, external_id=EXTERNAL_ID)  # fmt: skip
        pages = [
            reverse("admin:tenancy_cloudaccount_changelist"),
            reverse("admin:tenancy_cloudaccount_changelist") + "?q=lab",
            reverse("admin:tenancy_cloudaccount_change", args=[account.pk]),
            reverse("admin:tenancy_cloudaccount_change", args=[role.pk]),
            reverse("admin:tenancy_cloudaccount_delete", args=[account.pk]),
            reverse("admin:tenancy_cloudaccount_history", args=[account.pk]),
            reverse("admin:audit_auditentry_changelist"),
        ]
        for url in pages:
            response = self.client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            for secret in (NEW_ACCOUNT["secret_access_key"], NEW_ACCOUNT["access_key_id"], EXTERNAL_ID):
                assert secret not in html, (url, secret)
        listing = self.client.get(pages[0]).content.decode()
        assert "••••MNOP" in listing and "external id set" not in listing  # a role uses its org's id, no secret
        # A form sent back with errors does not echo a typed secret either.
        typed = {"access_key_id": "AKIATYPEDBUTINVALID1", "secret_access_key": "typed-secret-value-0123456789"}
        form = {"org": self.t.org.pk, "name": "", "auth_type": "access_keys", "region": "eu-west-1", **typed}
        html = self.client.post(reverse("admin:tenancy_cloudaccount_add"), form).content.decode()
        assert "This field is required" in html
        assert "typed-secret-value-0123456789" not in html and "AKIATYPEDBUTINVALID1" not in html

    def test_test_connection_calls_sts(self, aws_mock):
        account = self.make_account()
        url = reverse("admin:tenancy_cloudaccount_changelist")
        response = self.client.post(url, {"action": "test_connection", "_selected_action": [account.pk]}, follow=True)
        html = response.content.decode()
        assert "ab: connected as arn:aws:sts::123456789012:" in html and "(account 123456789012)" in html
        entry = AuditEntry.objects.get(action=Action.CLOUD_ACCOUNT_TESTED)
        assert entry.details["ok"] is True and entry.details["account"] == "123456789012"
        assert entry.actor == self.staff and entry.target_id == str(account.pk)

    def role(self, name: str, trust_policy: dict | None = None) -> CloudAccount:
        document = json.dumps(trust_policy or {"Version": "2012-10-17", "Statement": []})
        role = boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]
        return CloudAccount.objects.create(org=self.t.org, name=name, region="eu-west-1", auth_type="role",
                                           role_arn=role["Arn"], external_id=EXTERNAL_ID)  # fmt: skip

    def test_test_connection_refuses_a_role_assumable_without_the_external_id(self, sts_calls):
        account = self.role("open")  # its trust policy requires no external id: moto (like STS then) lets anyone in
        url = reverse("admin:tenancy_cloudaccount_changelist")
        response = self.client.post(url, {"action": "test_connection", "_selected_action": [account.pk]}, follow=True)
        html = response.content.decode()
        assert "tenancy:user:role-without-external-id" in html and "connected as" not in html
        assert self.t.org.aws_external_id in html  # the message names the id the trust policy must require
        assert sts_calls == [(account.role_arn, None)]  # the probe; the role is not used further
        entry = AuditEntry.objects.get(action=Action.CLOUD_ACCOUNT_TESTED)
        assert entry.details["ok"] is False and entry.details["error"]["id"] == "tenancy:user:role-without-external-id"

    def test_test_connection_accepts_a_role_that_requires_the_orgs_external_id(self, sts_calls):
        account = self.role("locked", aws_roles.trust_policy(self.t.org.aws_external_id))
        url = reverse("admin:tenancy_cloudaccount_changelist")
        response = self.client.post(url, {"action": "test_connection", "_selected_action": [account.pk]}, follow=True)
        html = response.content.decode()
        assert ": connected as arn:aws:sts::123456789012:assumed-role/locked/pyrun-console-" in html
        # Probed without an id (refused), then assumed with the org's platform id, never the stored tenant value.
        assert sts_calls == [(account.role_arn, None), (account.role_arn, self.t.org.aws_external_id)]

    def test_test_connection_reports_a_refusal(self, monkeypatch):
        import botocore.exceptions

        from ops import cloud

        def refuse(*args, **kwargs):
            error = {"Error": {"Code": "InvalidClientTokenId", "Message": "The security token is invalid."}}
            raise botocore.exceptions.ClientError(error, "GetCallerIdentity")

        class Session:
            def client(self, *args, **kwargs):
                return type("Sts", (), {"get_caller_identity": staticmethod(refuse)})()

        monkeypatch.setattr(cloud, "session_for", lambda account, session_name: Session())
        account = self.make_account()
        url = reverse("admin:tenancy_cloudaccount_changelist")
        response = self.client.post(url, {"action": "test_connection", "_selected_action": [account.pk]}, follow=True)
        assert (
            "InvalidClientTokenId" in response.content.decode()
            and "aws:user:request-failed" in response.content.decode()
        )
        assert AuditEntry.objects.get(action=Action.CLOUD_ACCOUNT_TESTED).details["ok"] is False


# --- Monitoring rows, workspaces ---------------------------------------------------------------------------------


class TestReadOnlyPages(ConsoleTest):
    def test_task_events_and_samples_by_job_id(self):
        from monitoring.models import ResourceSample, TaskEvent

        job, other = self.make_job("running"), self.make_job("running")
        for owner in (job, other):
            TaskEvent.objects.create(job=owner, seq=1, framework="lithops", group=f"g-{owner.pk}", key=f"k-{owner.pk}",
                                     phase="task", status="finished", lane="pid 1", start=1.0, end=2.0)  # fmt: skip
            ResourceSample.objects.create(job=owner, seq=1, t=1.0, cpu_percent=50, rss_bytes=1, processes=1,
                                          read_bytes=0, write_bytes=0, net_sent_bytes=0, net_recv_bytes=0)  # fmt: skip
        events = reverse("admin:monitoring_taskevent_changelist")
        html = self.client.get(events, {"job__id__exact": job.pk}).content.decode()
        assert f"k-{job.pk}" in html and f"k-{other.pk}" not in html
        html = self.client.get(events, {"q": str(other.pk)}).content.decode()
        assert f"k-{other.pk}" in html and f"k-{job.pk}" not in html
        assert f"k-{job.pk}" in self.client.get(events, {"q": f"k-{job.pk}"}).content.decode()
        samples = reverse("admin:monitoring_resourcesample_changelist")
        assert self.client.get(samples, {"q": str(job.pk)}).status_code == 200
        assert self.client.get(reverse("admin:monitoring_taskevent_add")).status_code == 403
        page = self.client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
        assert f"{events}?job__id__exact={job.pk}" in page

    def test_workspace_list_shows_last_run_and_page_its_runtime(self):
        job = self.make_job()
        html = self.client.get(reverse("admin:workspaces_workspace_changelist")).content.decode()
        assert f"?workspace__id__exact={job.workspace_id}" in html
        page = self.client.get(reverse("admin:workspaces_workspace_change", args=[job.workspace_id]))
        assert page.status_code == 200 and "runtime of the current spec" in page.content.decode().lower()


# --- Commands -----------------------------------------------------------------------------------------------------


class TestCommands(ConsoleTest):
    def test_quota_shows_and_changes_and_the_next_run_gets_it(self, capsys):
        call_command("quota", self.t.org.slug)
        out = capsys.readouterr().out
        assert "acme-research (Acme Research)" in out and "max_concurrent_jobs" in out and "4 (default)" in out
        call_command("quota", self.t.org.slug, "--set", "max_concurrent_jobs=0")
        job = self.make_job()
        assert job_services.dispatch_queued(self.t.org.pk) == []  # no slot: the run waits
        call_command("quota", self.t.org.slug, "--set", "max_concurrent_jobs=default")
        assert job_services.dispatch_queued(self.t.org.pk) == [job.pk]
        with pytest.raises(CommandError, match="NAME one of"):
            call_command("quota", self.t.org.slug, "--set", "nonsense=1")
        with pytest.raises(CommandError, match="not a whole number"):
            call_command("quota", self.t.org.slug, "--set", "max_concurrent_jobs=4G")
        with pytest.raises(CommandError, match="no organisation"):
            call_command("quota", "no-such-org")

    def test_gc_runtimes(self, capsys):
        days = settings.PYRUN_RUNTIME_GC_DAYS
        unused = self.make_runtime("1" * 64, last_used_days=days + 1)
        used = self.make_runtime("2" * 64, last_used_days=1)
        call_command("gc_runtimes", "--dry-run")
        assert f"would delete runtime {unused.pk} of acme-research" in capsys.readouterr().out
        assert Runtime.objects.count() == 2
        call_command("gc_runtimes")
        assert f"deleted 1 runtime(s) unused for {days} days: [{unused.pk}]" in capsys.readouterr().out
        assert list(Runtime.objects.values_list("pk", flat=True)) == [used.pk]
        assert AuditEntry.objects.get(action=Action.RUNTIMES_COLLECTED).via == Via.COMMAND

    def test_platform_status(self, capsys):
        self.make_job("running")
        with pytest.raises(CommandError) as degraded:  # no worker, no beat: degraded
            call_command("platform_status")
        assert degraded.value.returncode == 2
        out = capsys.readouterr().out
        assert "platform: degraded" in out and "jobs: 0 queued, 0 preparing, 1 running" in out
        with pytest.raises(CommandError):
            call_command("platform_status", "--json")
        assert '"generated_at"' in capsys.readouterr().out
