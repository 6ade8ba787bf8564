from pyrun_web.tenancy.models import Membership, User
from tests.tenants import TenantTest


class TestMembers(TenantTest):
    def test_adding_a_member_invites_them_and_sets_no_password(self):
        response = self.api("admin").post("/api/v1/members/", {"email": "New@Example.com", "role": "member"})
        assert response.status_code == 201, response.json()
        assert response.json()["email"] == "new@example.com" and "/invitations/accept/" in response.json()["accept_url"]
        assert not User.objects.filter(email="new@example.com").exists()
        refused = self.api("admin").post(
            "/api/v1/members/", {"email": "other@example.com", "role": "member", "password": "s3cret-pass-word"}
        )
        assert refused.status_code == 400
        assert not User.objects.filter(email="other@example.com").exists()

    def test_member_cannot_add_members(self):
        response = self.api("member").post("/api/v1/members/", {"email": "x@example.com", "role": "member"})
        assert response.status_code == 403
        assert response.json()["error"]["id"] == "auth:user:role-required"

    def test_admin_cannot_grant_owner(self):
        membership = Membership.objects.get(user=self.t.member)
        response = self.api("admin").patch(f"/api/v1/members/{membership.id}/", {"role": "owner"})
        assert response.status_code == 403
        assert response.json()["error"]["id"] == "tenancy:user:owner-only"

    def test_last_owner_cannot_step_down_or_leave(self):
        membership = Membership.objects.get(user=self.t.owner)
        response = self.api("owner").patch(f"/api/v1/members/{membership.id}/", {"role": "admin"})
        assert response.status_code == 409
        assert response.json()["error"]["id"] == "tenancy:user:last-owner"
        assert self.api("owner").delete(f"/api/v1/members/{membership.id}/").status_code == 409

    def test_a_member_may_leave(self):
        membership = Membership.objects.get(user=self.t.member)
        assert self.api("member").delete(f"/api/v1/members/{membership.id}/").status_code == 204
        assert not Membership.objects.filter(pk=membership.pk).exists()

    def test_a_member_cannot_remove_another(self):
        membership = Membership.objects.get(user=self.t.viewer)
        response = self.api("member").delete(f"/api/v1/members/{membership.id}/")
        assert response.status_code == 403

    def test_adding_an_existing_member_is_a_conflict(self):
        response = self.api("owner").post("/api/v1/members/", {"email": "member@example.com", "role": "viewer"})
        assert response.status_code == 409
