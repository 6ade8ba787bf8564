import pytest

from tests.tenants import TenantTest

NEW_ACCOUNT = {
    "name": "lab", "region": "us-east-1", "auth_type": "access_keys",
    "access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}  # fmt: skip


class TestRoles(TenantTest):
    @pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
    def test_every_role_can_read(self, who):
        assert self.api(who).get("/api/v1/members/").status_code == 200
        assert self.api(who).get("/api/v1/cloud-accounts/").status_code == 200

    def test_viewer_cannot_write(self):
        response = self.api("viewer").post("/api/v1/cloud-accounts/", NEW_ACCOUNT, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["message"].startswith("This needs the admin role")

    def test_viewer_cannot_rename_org_but_admin_can(self):
        url = f"/api/v1/orgs/{self.t.org.id}/"
        assert self.api("viewer").patch(url, {"name": "Hijacked"}).status_code == 403
        response = self.api("admin").patch(url, {"name": "Acme Labs"})
        assert response.status_code == 200
        assert response.json()["name"] == "Acme Labs"

    def test_only_owner_deletes_the_org(self):
        url = f"/api/v1/orgs/{self.t.org.id}/"
        assert self.api("admin").delete(url).status_code == 403
        assert self.api("owner").delete(url).status_code == 204


class TestOrganisations(TenantTest):
    def test_a_user_in_several_orgs_switches_with_a_header(self):
        from pyrun_web.tenancy.models import Membership, Role

        Membership.objects.create(org=self.t.other_org, user=self.t.member, role=Role.VIEWER)
        client = self.t.session_client("member")
        assert {o["slug"] for o in client.get("/api/v1/orgs/").json()["results"]} == {
            self.t.org.slug, self.t.other_org.slug,
        }  # fmt: skip
        me = client.get("/api/v1/me/", HTTP_X_PYRUN_ORG=self.t.other_org.slug).json()
        assert (me["org"]["slug"], me["role"], me["auth"]) == (self.t.other_org.slug, "viewer", "session")
        me = client.get(f"/api/v1/me/?org={self.t.org.slug}").json()
        assert (me["org"]["slug"], me["role"]) == (self.t.org.slug, "member")

    def test_a_token_sees_only_its_own_org(self):
        from pyrun_web.tenancy.models import Membership, Role

        Membership.objects.create(org=self.t.other_org, user=self.t.member, role=Role.MEMBER)
        orgs = self.api("member").get("/api/v1/orgs/").json()["results"]
        assert [o["slug"] for o in orgs] == [self.t.org.slug]

    def test_creating_an_org_makes_the_caller_its_owner(self):
        response = self.api("member").post("/api/v1/orgs/", {"name": "Side Project"})
        assert response.status_code == 201
        assert response.json()["slug"] == "side-project"
        assert response.json()["role"] == "owner"

    def test_an_org_needs_a_name_and_an_account_owns_a_limited_number(self, settings):
        assert self.api("member").post("/api/v1/orgs/", {"name": "   "}).status_code == 400
        assert self.api("member").post("/api/v1/orgs/", {"name": "x" * 121}).status_code == 400
        settings.PYRUN_MAX_OWNED_ORGS_PER_USER = 2
        assert self.api("member").post("/api/v1/orgs/", {"name": "One"}).status_code == 201
        assert self.api("member").post("/api/v1/orgs/", {"name": "Two"}).status_code == 201
        refused = self.api("member").post("/api/v1/orgs/", {"name": "Three"})
        assert refused.status_code == 403
        assert refused.json()["error"]["id"] == "tenancy:user:too-many-orgs"
        # The owner of the tenant's org already owns one: the limit is per account.
        assert self.api("owner").post("/api/v1/orgs/", {"name": "Owner's second"}).status_code == 201

    def test_session_writes_need_csrf(self):
        client = self.t.session_client("admin")
        response = client.patch(f"/api/v1/orgs/{self.t.org.id}/", {"name": "No CSRF"}, format="json")
        assert response.status_code == 403
