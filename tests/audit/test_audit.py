"""Audit entries for every operator and security-relevant action, from the API, the admin and the commands:
who, when, what; never a secret; read-only in the admin."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from jobs.models import Job, JobState
from pyrun_web.audit.models import Action, AuditEntry, Via
from pyrun_web.audit.services import record, scrub
from pyrun_web.tenancy.models import ApiToken, CloudAccount, Membership, Role
from pyrun_web.tenancy.services import QUOTA_FIELDS
from tests.tenancy.test_roles import NEW_ACCOUNT
from tests.tenants import TenantTest

SECRET = NEW_ACCOUNT["secret_access_key"]
KEY_ID = NEW_ACCOUNT["access_key_id"]


def entries(action: Action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def only(action: Action) -> AuditEntry:
    found = entries(action)
    assert len(found) == 1, found
    return found[0]


def assert_no_secret_stored() -> None:
    stored = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert SECRET not in stored and KEY_ID not in stored


def org_change_form(org, **quotas) -> dict:
    """The POST of the admin's organisation page (with its members inline), some quotas changed."""
    memberships = list(Membership.objects.filter(org=org).order_by("pk"))
    data = {"name": org.name, "slug": org.slug, "memberships-TOTAL_FORMS": len(memberships),
            "memberships-INITIAL_FORMS": len(memberships), "memberships-MIN_NUM_FORMS": 0,
            "memberships-MAX_NUM_FORMS": 1000}  # fmt: skip
    for name in QUOTA_FIELDS:
        value = quotas.get(name, getattr(org, name))
        data[name] = "" if value is None else value
    for i, membership in enumerate(memberships):
        prefix = f"memberships-{i}-"
        data.update({f"{prefix}id": membership.pk, f"{prefix}org": org.pk, f"{prefix}user": membership.user_id,
                     f"{prefix}role": membership.role})  # fmt: skip
    return data


class AuditTest(TenantTest):
    @pytest.fixture(autouse=True)
    def _staff(self, client, tenants):
        self.staff = tenants.owner
        self.staff.is_staff = self.staff.is_superuser = True
        self.staff.save()
        client.force_login(self.staff)
        self.client = client

    def make_job(self, state: str = "queued") -> Job:
        from workspaces.services import create_workspace

        workspace = create_workspace(org=self.t.org, user=self.t.member, name="Audited", template="python")
        job = Job.objects.create(org=self.t.org, workspace=workspace, entrypoint="main.py", backend="lithops-localhost")
        if state in ("preparing", "running"):
            assert job.mark_dispatched("task") and job.claim(task_id="task", worker="w@test")
        if state == "running":
            assert job.mark_running()
        return job


class TestTokens(AuditTest):
    def test_created_through_the_api(self):
        response = self.api("member").post("/api/v1/tokens/", {"name": "ci"})
        assert response.status_code == 201
        entry = only(Action.TOKEN_CREATED)
        assert (entry.actor, entry.via, entry.org) == (self.t.member, Via.API, self.t.org)
        assert entry.actor_repr == "member@example.com"
        assert entry.target_type == "tenancy.apitoken" and entry.target_id == str(response.json()["id"])
        assert entry.details["name"] == "ci" and entry.created_at is not None
        assert response.json()["key"] not in json.dumps(entry.details)

    def test_revoked_through_the_api_and_the_admin(self):
        token = ApiToken.objects.get(user=self.t.member)
        assert self.api("member").delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
        entry = only(Action.TOKEN_REVOKED)
        assert (entry.actor, entry.via, entry.target_id) == (self.t.member, Via.API, str(token.pk))

        other = ApiToken.objects.get(user=self.t.viewer)
        url = reverse("admin:tenancy_apitoken_changelist")
        # The already revoked one is skipped: one new entry, for the token that really changed.
        response = self.client.post(url, {"action": "revoke", "_selected_action": [token.pk, other.pk]}, follow=True)
        assert "Revoked 1 token(s)." in response.content.decode()
        admin_entry = entries(Action.TOKEN_REVOKED)[-1]
        assert (admin_entry.actor, admin_entry.via, admin_entry.target_id) == (self.staff, Via.ADMIN, str(other.pk))
        assert len(entries(Action.TOKEN_REVOKED)) == 2

    def test_createtenant_command(self, capsys):
        call_command("createtenant", "Initech", "boss@initech.example")
        key = capsys.readouterr().out.strip().splitlines()[-1]
        entry = only(Action.TOKEN_CREATED)
        assert entry.via == Via.COMMAND and entry.actor is None and entry.actor_repr.endswith("(shell)")
        assert entry.org_repr == "initech" and key not in json.dumps(entry.details)


class TestMembers(AuditTest):
    def test_added_role_changed_removed_through_the_api(self, django_capture_on_commit_callbacks):
        admin = self.api("admin")
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post("/api/v1/members/", {"email": "new@example.com", "role": "member"})
        assert response.status_code == 201
        invited = only(Action.MEMBER_INVITED)
        assert invited.actor == self.t.admin and invited.details["email"] == "new@example.com"
        link = response.json()["accept_url"].removeprefix("http://testserver")
        password = "new member's own pass"
        accepted = Client().post(link, {"new_password1": password, "new_password2": password})
        assert accepted.status_code == 302
        member_id = Membership.objects.get(user__email="new@example.com").id
        assert admin.patch(f"/api/v1/members/{member_id}/", {"role": "viewer"}).status_code == 200
        assert admin.delete(f"/api/v1/members/{member_id}/").status_code == 204
        added, changed, removed = (only(a) for a in (Action.MEMBER_ADDED, Action.MEMBER_ROLE_CHANGED,
                                                     Action.MEMBER_REMOVED))  # fmt: skip
        assert added.actor.email == "new@example.com" and added.details["invited_by"] == "admin@example.com"
        assert {changed.actor, removed.actor} == {self.t.admin}
        assert changed.details["role"] == ["member", "viewer"]
        assert removed.details["user"] == "new@example.com" and removed.target_id == str(member_id)


class TestQuotas(AuditTest):
    def test_changed_in_the_admin(self):
        url = reverse("admin:tenancy_organization_change", args=[self.t.org.pk])
        response = self.client.post(url, org_change_form(self.t.org, max_concurrent_jobs=2, job_memory_bytes=1024**3))
        assert response.status_code == 302, response.content.decode()[:2000]
        self.t.org.refresh_from_db()
        assert (self.t.org.max_concurrent_jobs, self.t.org.job_memory_bytes) == (2, 1024**3)
        entry = only(Action.QUOTA_CHANGED)
        assert (entry.actor, entry.via, entry.org) == (self.staff, Via.ADMIN, self.t.org)
        assert entry.details == {"changes": {"max_concurrent_jobs": [None, 2], "job_memory_bytes": [None, 1024**3]}}
        # Saving again without a change writes nothing.
        assert self.client.post(url, org_change_form(self.t.org)).status_code == 302
        assert len(entries(Action.QUOTA_CHANGED)) == 1

    def test_role_changed_in_the_organisation_inline(self):
        url = reverse("admin:tenancy_organization_change", args=[self.t.org.pk])
        data = org_change_form(self.t.org)
        viewer = Membership.objects.get(user=self.t.viewer)
        index = next(i for i in range(10) if data.get(f"memberships-{i}-id") == viewer.pk)
        data[f"memberships-{index}-role"] = Role.MEMBER
        assert self.client.post(url, data).status_code == 302
        entry = only(Action.MEMBER_ROLE_CHANGED)
        assert entry.details["role"] == ["viewer", "member"] and entry.actor == self.staff

    def test_changed_by_the_command(self, capsys):
        call_command("quota", self.t.org.slug, "--set", "max_job_seconds=90", "--set", "job_memory_bytes=512M")
        out = capsys.readouterr().out
        assert "max_job_seconds: default -> 90" in out and "job_memory_bytes: default -> 536870912" in out
        entry = only(Action.QUOTA_CHANGED)
        assert entry.via == Via.COMMAND and entry.details["changes"]["max_job_seconds"] == [None, 90]


class TestCloudAccounts(AuditTest):
    def test_created_changed_deleted_through_the_api(self):
        admin = self.api("admin")
        account_id = admin.post("/api/v1/cloud-accounts/", NEW_ACCOUNT, format="json").json()["id"]
        new_secret = "A" * 40
        change = {"bucket": "lab-bucket", "secret_access_key": new_secret}
        response = admin.patch(f"/api/v1/cloud-accounts/{account_id}/", change)
        assert response.status_code == 200
        assert admin.delete(f"/api/v1/cloud-accounts/{account_id}/").status_code == 204
        created, changed, deleted = (only(a) for a in (Action.CLOUD_ACCOUNT_CREATED, Action.CLOUD_ACCOUNT_CHANGED,
                                                       Action.CLOUD_ACCOUNT_DELETED))  # fmt: skip
        assert {created.actor, changed.actor, deleted.actor} == {self.t.admin}
        assert {created.target_id, changed.target_id, deleted.target_id} == {str(account_id)}
        assert changed.details["changed"] == ["bucket", "secret_access_key"]
        assert "secret_access_key" in created.details["changed"]
        assert_no_secret_stored()
        assert new_secret not in json.dumps(list(AuditEntry.objects.values()), default=str)

    def test_created_changed_deleted_in_the_admin(self):
        add = reverse("admin:tenancy_cloudaccount_add")
        form = {"org": self.t.org.pk, "name": "console", "auth_type": "access_keys", "region": "eu-west-1",
                "bucket": "", "access_key_id": KEY_ID, "secret_access_key": SECRET, "role_arn": "",
                "external_id": "", "created_by": ""}  # fmt: skip
        assert self.client.post(add, form).status_code == 302
        account = CloudAccount.objects.get(name="console")
        assert account.secret_access_key == SECRET and account.created_by == self.staff
        change = reverse("admin:tenancy_cloudaccount_change", args=[account.pk])
        # Secrets left empty keep the stored ones and are not reported as changed.
        response = self.client.post(
            change,
            {**form, "region": "us-east-1", "access_key_id": "", "secret_access_key": "", "created_by": self.staff.pk},
        )
        assert response.status_code == 302
        account.refresh_from_db()
        assert account.secret_access_key == SECRET and account.region == "us-east-1"
        delete = reverse("admin:tenancy_cloudaccount_delete", args=[account.pk])
        assert self.client.post(delete, {"post": "yes"}).status_code == 302
        assert not CloudAccount.objects.filter(pk=account.pk).exists()
        created, changed, deleted = (only(a) for a in (Action.CLOUD_ACCOUNT_CREATED, Action.CLOUD_ACCOUNT_CHANGED,
                                                       Action.CLOUD_ACCOUNT_DELETED))  # fmt: skip
        assert {created.via, changed.via, deleted.via} == {Via.ADMIN}
        assert changed.details["changed"] == ["region"]
        assert_no_secret_stored()


class TestJobsByStaff(AuditTest):
    def test_cancel_mark_failed_and_rerun_in_the_admin(self):
        queued, running, finished = self.make_job(), self.make_job("running"), self.make_job("running")
        finished.record(snapshot_hash="a" * 64)
        assert finished.finish(0)
        url = reverse("admin:jobs_job_changelist")
        self.client.post(url, {"action": "cancel", "_selected_action": [queued.pk]})
        self.client.post(url, {"action": "mark_failed", "_selected_action": [running.pk]})
        self.client.post(url, {"action": "rerun", "_selected_action": [finished.pk]})
        queued.refresh_from_db()
        running.refresh_from_db()
        assert queued.state == JobState.CANCELLED
        assert running.state == JobState.FAILED and running.error_id == "job:platform:marked-failed"
        rerun = Job.objects.get(rerun_of=finished)
        assert rerun.created_by == self.staff and rerun.snapshot_hash == "a" * 64
        cancelled, failed, again = (only(a) for a in (Action.JOB_CANCELLED, Action.JOB_MARKED_FAILED,
                                                      Action.JOB_RERUN))  # fmt: skip
        assert cancelled.target_id == str(queued.pk) and cancelled.details == {"state": ["queued", "cancelled"]}
        assert failed.details == {"state": ["running", "failed"]}
        assert again.details == {"new_job": rerun.pk}
        assert {cancelled.actor, failed.actor, again.actor} == {self.staff}

    def test_an_ended_job_is_not_cancelled_again_nor_audited(self):
        job = self.make_job()
        job.cancel()
        response = self.client.post(
            reverse("admin:jobs_job_changelist"), {"action": "cancel", "_selected_action": [job.pk]}, follow=True
        )
        assert "Cancelled 0 job(s); 1 had already ended." in response.content.decode()
        assert not entries(Action.JOB_CANCELLED)

    def test_cancel_job_command(self, capsys):
        job = self.make_job("running")
        call_command("cancel_job", str(job.pk))
        assert f"job {job.pk}: cancelled" in capsys.readouterr().out
        assert only(Action.JOB_CANCELLED).via == Via.COMMAND
        with pytest.raises(Exception, match="no such job: 999999"):
            call_command("cancel_job", "999999")


class TestAuditAdmin(AuditTest):
    def test_read_only(self):
        entry = record(Action.QUOTA_CHANGED, actor=self.staff, via=Via.ADMIN, target=self.t.org, details={"a": 1})
        changelist = reverse("admin:audit_auditentry_changelist")
        page = self.client.get(changelist)
        assert page.status_code == 200 and "owner@example.com" in page.content.decode()
        change = self.client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
        assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
        assert self.client.get(reverse("admin:audit_auditentry_add")).status_code == 403
        assert (
            self.client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
            == 403
        )
        self.client.post(reverse("admin:audit_auditentry_change", args=[entry.pk]), {"action": "x"})
        assert AuditEntry.objects.get(pk=entry.pk).details == {"a": 1}
        response = self.client.post(changelist, {"action": "delete_selected", "_selected_action": [entry.pk]})
        assert AuditEntry.objects.filter(pk=entry.pk).exists(), response.status_code

    def test_secret_values_are_scrubbed_whatever_the_caller_passes(self):
        details = {"secret_access_key": SECRET, "nested": {"password": "hunter2", "region": "eu-west-1"},
                   "changed": ["secret_access_key"], "env": {"API_KEY": "x"}}  # fmt: skip
        assert scrub(details) == {"secret_access_key": "••••", "nested": {"password": "••••", "region": "eu-west-1"},
                                  "changed": ["secret_access_key"], "env": "••••"}  # fmt: skip
