"""A filter naming another org's object answers exactly as one naming a missing object (no existence oracle)."""

from __future__ import annotations

import pytest

from jobs.models import Job
from tests.tenants import TenantTest
from workspaces.models import Workspace
from workspaces.services import create_workspace


class TestForeignKeyFilters(TenantTest):
    @pytest.fixture(autouse=True)
    def _two_orgs(self, _tenants) -> None:
        self.ours = create_workspace(org=self.t.org, user=self.t.member, name="Ours", template="empty")
        self.theirs = create_workspace(org=self.t.other_org, user=self.t.outsider, name="Theirs", template="empty")
        Job.objects.create(
            org=self.t.org,
            workspace=self.ours,
            created_by=self.t.member,
            entrypoint="main.py",
            backend="lithops-localhost",
        )
        Job.objects.create(
            org=self.t.other_org,
            workspace=self.theirs,
            created_by=self.t.outsider,
            entrypoint="m.py",
            backend="lithops-localhost",
        )
        self.missing_workspace = Workspace.objects.order_by("-pk").first().pk + 1000

    @pytest.mark.parametrize("who", ["owner", "member", "viewer"])
    def test_another_orgs_workspace_answers_like_a_missing_one(self, who):
        client = self.api(who)
        foreign = client.get(f"/api/v1/jobs/?workspace={self.theirs.pk}")
        missing = client.get(f"/api/v1/jobs/?workspace={self.missing_workspace}")
        assert foreign.status_code == missing.status_code == 400
        assert foreign.content == missing.content
        assert dict(foreign.headers) | {"Content-Length": ""} == dict(missing.headers) | {"Content-Length": ""}

    def test_a_user_of_another_org_answers_like_a_missing_one(self):
        client = self.api("member")
        foreign = client.get(f"/api/v1/jobs/?created_by={self.t.outsider.pk}")
        missing = client.get("/api/v1/jobs/?created_by=987654")
        assert foreign.status_code == missing.status_code == 400
        assert foreign.content == missing.content

    def test_the_orgs_own_objects_still_filter(self):
        client = self.api("viewer")
        by_workspace = client.get(f"/api/v1/jobs/?workspace={self.ours.pk}").json()
        assert [job["entrypoint"] for job in by_workspace["results"]] == ["main.py"]
        by_member = client.get(f"/api/v1/jobs/?created_by={self.t.member.pk}").json()
        assert by_member["count"] == 1
        assert client.get(f"/api/v1/jobs/?created_by={self.t.viewer.pk}").json()["count"] == 0

    def test_a_former_member_who_ran_jobs_can_still_be_filtered_on(self):
        self.t.org.memberships.filter(user=self.t.member).delete()
        assert self.api("viewer").get(f"/api/v1/jobs/?created_by={self.t.member.pk}").json()["count"] == 1

    def test_a_user_in_both_orgs_is_a_valid_choice_in_each(self):
        self.t.other_org.memberships.create(user=self.t.member, role="member")
        assert self.api("outsider").get(f"/api/v1/jobs/?created_by={self.t.member.pk}").json()["count"] == 0
        assert self.api("member").get(f"/api/v1/jobs/?created_by={self.t.member.pk}").json()["count"] == 1
