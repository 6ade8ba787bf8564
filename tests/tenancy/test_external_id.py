"""The AWS external id is the platform's, one per org (issue 16, the confused deputy).

moto stands in for STS; ``sts_calls`` records every AssumeRole moto received (RoleArn, ExternalId) and enforces a
trust policy's ``sts:ExternalId`` condition as real STS does. Every caller that assumes a role (runtime publishers,
a job's renewed session, the console's test connection) sends the org's platform id and never a tenant's value;
org B entering org A's role ARN sends B's id, which A's trust policy refuses."""

from __future__ import annotations

import json

import boto3
import pytest

from jobs.backends.role_credentials import RoleCredentials
from ops.cloud import check_connection
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import aws, aws_roles
from pyrun_web.tenancy.models import CloudAccount
from tests.sts_trust import record_sts_calls
from tests.tenants import TenantTest

ROLE = {"name": "lab-role", "region": "eu-west-1", "auth_type": "role"}


@pytest.fixture
def sts_calls(aws_mock, monkeypatch) -> list[tuple[str, str | None]]:
    """Every AssumeRole moto received, as (RoleArn, ExternalId); trust policies' sts:ExternalId enforced."""
    return record_sts_calls(monkeypatch)


def make_role(name: str, trust_policy: dict | None = None) -> str:
    document = json.dumps(trust_policy or {"Version": "2012-10-17", "Statement": []})
    return boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"]


class TestPlatformExternalId(TenantTest):
    def test_every_org_has_its_own_fixed_external_id(self):
        org, other = self.t.org, self.t.other_org
        assert org.aws_external_id.startswith("pyrun-") and len(org.aws_external_id) >= 32
        assert org.aws_external_id != other.aws_external_id
        before = org.aws_external_id
        org.save()
        org.refresh_from_db()
        assert org.aws_external_id == before

    def test_the_api_shows_the_orgs_external_id_and_the_trust_policy(self, settings):
        settings.PYRUN_AWS_PRINCIPAL_ARN = "arn:aws:iam::111122223333:role/pyrun-workers"
        arn = "arn:aws:iam::123456789012:role/run"
        created = self.api("admin").post("/api/v1/cloud-accounts/", {**ROLE, "role_arn": arn}, format="json")
        assert created.status_code == 201, created.json()
        for response in (created, self.api("viewer").get(f"/api/v1/cloud-accounts/{created.json()['id']}/")):
            body = response.json()
            assert body["external_id"] == self.t.org.aws_external_id
            assert body["trust_policy"] == {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:role/pyrun-workers"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": self.t.org.aws_external_id}},
                }],
            }  # fmt: skip
            assert "<platform-account-id>" not in body["trust_policy_note"]
        # The other org sees its own id in its own accounts, never this org's.
        other = self.api("outsider").post("/api/v1/cloud-accounts/", {**ROLE, "role_arn": arn}, format="json")
        assert other.json()["external_id"] == self.t.other_org.aws_external_id
        assert self.t.org.aws_external_id not in other.content.decode()

    def test_without_a_configured_principal_the_policy_shows_a_placeholder_and_says_so(self, settings):
        settings.PYRUN_AWS_PRINCIPAL_ARN = ""
        arn = "arn:aws:iam::123456789012:role/run"
        body = self.api("admin").post("/api/v1/cloud-accounts/", {**ROLE, "role_arn": arn}, format="json").json()
        assert body["trust_policy"]["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::<platform-account-id>:root"}
        assert "<platform-account-id>" in body["trust_policy_note"]

    def test_a_tenant_cannot_choose_the_external_id(self):
        arn = "arn:aws:iam::123456789012:role/run"
        chosen = self.api("admin").post(
            "/api/v1/cloud-accounts/", {**ROLE, "role_arn": arn, "external_id": "my-own-id"}, format="json"
        )
        assert chosen.status_code == 400
        assert "set by the platform" in chosen.json()["error"]["fields"]["external_id"][0]
        # Another org's id is refused as well.
        stolen = self.api("admin").post(
            "/api/v1/cloud-accounts/",
            {**ROLE, "role_arn": arn, "external_id": self.t.other_org.aws_external_id},
            format="json",
        )
        assert stolen.status_code == 400
        created = self.api("admin").post("/api/v1/cloud-accounts/", {**ROLE, "role_arn": arn}, format="json").json()
        url = f"/api/v1/cloud-accounts/{created['id']}/"
        assert self.api("admin").patch(url, {"external_id": "my-own-id"}, format="json").status_code == 400
        # Sending back what was read (the org's own id) is accepted and changes nothing.
        assert self.api("admin").put(url, {**created, "name": "renamed"}, format="json").status_code == 200
        assert CloudAccount.objects.get(pk=created["id"]).external_id == ""

    def test_a_tenant_chosen_value_never_reaches_assume_role(self, sts_calls):
        arn = make_role("lab")
        account = CloudAccount.objects.create(org=self.t.org, **ROLE, role_arn=arn, external_id="tenant-typed")
        aws.session_for(account)  # runtime publishers
        role = RoleCredentials(account, job_id=7)  # a job's session, renewed in the background
        try:
            role.renew()
        finally:
            role.close()
        assert sts_calls == [(arn, self.t.org.aws_external_id)] * 3

    def test_another_orgs_role_arn_is_assumed_with_the_callers_own_id_and_refused(self, sts_calls):
        # Org A's role trusts the platform only with A's id (the policy the API shows A).
        arn = make_role("org-a-data", aws_roles.trust_policy(self.t.org.aws_external_id))
        mine = CloudAccount.objects.create(org=self.t.org, **ROLE, role_arn=arn)
        aws.session_for(mine)
        # Org B enters A's ARN (and A's id, through the API: refused there, and ignored below the API anyway).
        entered = self.api("outsider").post(
            "/api/v1/cloud-accounts/",
            {**ROLE, "role_arn": arn, "external_id": self.t.org.aws_external_id},
            format="json",
        )
        assert entered.status_code == 400
        theirs = CloudAccount.objects.create(
            org=self.t.other_org, **ROLE, role_arn=arn, external_id=self.t.org.aws_external_id
        )
        with pytest.raises(PyrunError) as refused:
            aws.session_for(theirs)
        assert refused.value.id == "aws:user:assume-role-failed" and "AccessDenied" in refused.value.message
        with pytest.raises(PyrunError):
            RoleCredentials(theirs, job_id=8)
        assert check_connection(theirs)["ok"] is False
        b_id = self.t.other_org.aws_external_id
        assert sts_calls == [(arn, self.t.org.aws_external_id), (arn, b_id), (arn, b_id), (arn, None), (arn, b_id)]

    def test_test_connection_refuses_a_role_open_without_the_external_id(self, sts_calls):
        arn = make_role("open")
        account = CloudAccount.objects.create(org=self.t.org, **ROLE, role_arn=arn)
        result = check_connection(account)
        assert result["ok"] is False
        assert result["error"]["id"] == "tenancy:user:role-without-external-id"
        assert self.t.org.aws_external_id in result["error"]["message"] and arn in result["error"]["message"]
        locked = CloudAccount.objects.create(
            org=self.t.org, **{**ROLE, "name": "locked"},
            role_arn=make_role("locked", aws_roles.trust_policy(self.t.org.aws_external_id)),
        )  # fmt: skip
        assert check_connection(locked)["ok"] is True

    def test_a_role_is_never_assumed_without_an_org(self, sts_calls):
        account = CloudAccount(**ROLE, role_arn=make_role("orphan"))
        with pytest.raises(PyrunError) as refused:
            aws.session_for(account)
        assert refused.value.id == "aws:platform:no-external-id"
        assert sts_calls == []
