"""What a token can mint: tokens of its own user, org and role that do not outlive it; never one for another."""

from __future__ import annotations

from datetime import timedelta

from rest_framework.test import APIClient

from pyrun_web.tenancy.models import ApiToken, Membership, Role
from tests.tenants import TenantTest


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


class TestMinting(TenantTest):
    def short_lived(self, who: str = "member", days: int = 3) -> tuple[ApiToken, APIClient]:
        user = getattr(self.t, who)
        token, key = ApiToken.issue(user=user, org=self.t.org, name="short", expires_in=timedelta(days=days))
        return token, token_client(key)

    def test_a_short_lived_token_cannot_mint_a_non_expiring_one(self):
        parent, client = self.short_lived()
        response = client.post("/api/v1/tokens/", {"name": "child"}, format="json")
        assert response.status_code == 201
        child = ApiToken.objects.get(pk=response.json()["id"])
        assert child.expires_at is not None and child.expires_at <= parent.expires_at
        assert child.expires_at == parent.expires_at

    def test_a_short_lived_token_cannot_mint_a_longer_lived_one(self):
        parent, client = self.short_lived(days=3)
        response = client.post("/api/v1/tokens/", {"name": "child", "expires_in_days": 30}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["id"] == "auth:user:token-outlives-parent"
        assert parent.expires_at.isoformat() in response.json()["error"]["message"]
        assert ApiToken.objects.filter(name="child").count() == 0
        shorter = client.post("/api/v1/tokens/", {"name": "child", "expires_in_days": 1}, format="json")
        assert shorter.status_code == 201
        assert ApiToken.objects.get(pk=shorter.json()["id"]).expires_at < parent.expires_at

    def test_sessions_and_non_expiring_tokens_may_still_mint_non_expiring_tokens(self):
        session = APIClient()  # CSRF is not the point here
        session.force_login(self.t.member)
        by_session = session.post("/api/v1/tokens/", {"name": "a"}, format="json")
        by_token = self.api("member").post("/api/v1/tokens/", {"name": "b"}, format="json")
        assert by_session.status_code == by_token.status_code == 201
        assert by_session.json()["expires_at"] is None and by_token.json()["expires_at"] is None

    def test_a_viewers_token_mints_only_a_viewers_token_for_the_viewer(self):
        response = self.api("viewer").post(
            "/api/v1/tokens/",
            {"name": "mine", "user": self.t.owner.pk, "org": self.t.other_org.pk, "role": "owner"},
            format="json",
        )
        assert response.status_code == 201
        child = ApiToken.objects.get(pk=response.json()["id"])
        assert (child.user, child.org) == (self.t.viewer, self.t.org)
        minted = token_client(response.json()["key"])
        assert minted.get("/api/v1/me/").json()["role"] == Role.VIEWER
        assert minted.post("/api/v1/workspaces/", {"name": "nope"}).status_code == 403

    def test_a_token_mints_in_its_own_org_only(self):
        Membership.objects.create(org=self.t.other_org, user=self.t.member, role=Role.OWNER)
        response = self.api("member").post("/api/v1/tokens/", {"name": "child"}, format="json")
        child = ApiToken.objects.get(pk=response.json()["id"])
        assert child.org == self.t.org
        me = token_client(response.json()["key"]).get("/api/v1/me/").json()
        assert me["role"] == Role.MEMBER

    def test_an_outsiders_token_cannot_touch_our_tokens(self):
        ours = ApiToken.objects.get(user=self.t.member, org=self.t.org)
        assert self.api("outsider").delete(f"/api/v1/tokens/{ours.pk}/").status_code == 404
        assert self.api("outsider").get("/api/v1/tokens/?all=true").json()["count"] == 1
