from django.db import connection

from pyrun_web.tenancy.models import ApiToken
from tests.tenants import TenantTest


class TestApiTokens(TenantTest):
    def test_created_key_is_shown_once_and_authenticates(self):
        created = self.api("member").post("/api/v1/tokens/", {"name": "ci"}, format="json")
        assert created.status_code == 201
        key = created.json()["key"]
        listed = self.api("member").get("/api/v1/tokens/").json()["results"]
        assert all("key" not in row for row in listed)
        assert "ci" in [row["name"] for row in listed]

        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        me = client.get("/api/v1/me/").json()
        assert me["user"]["email"] == "member@example.com"
        assert me["org"]["slug"] == self.t.org.slug
        assert me["role"] == "member"

    def test_revoked_token_gets_401(self):
        created = self.api("member").post("/api/v1/tokens/", {"name": "short-lived"}, format="json").json()
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {created['key']}")
        assert client.get("/api/v1/me/").status_code == 200

        assert self.api("member").delete(f"/api/v1/tokens/{created['id']}/").status_code == 204
        response = client.get("/api/v1/me/")
        assert response.status_code == 401
        assert response.json()["error"]["id"] == "auth:user:bad-token"

    def test_database_holds_no_key_in_clear(self):
        key = self.t.keys["member"]
        secret_part = key.split("_", 2)[2]  # the random part may hold "_" itself
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM tenancy_apitoken")
            dump = repr(cursor.fetchall())
        assert key not in dump
        assert secret_part not in dump

    def test_last_used_time_is_recorded(self):
        token = ApiToken.objects.get(user=self.t.member)
        assert token.last_used_at is None
        self.api("member").get("/api/v1/me/")
        token.refresh_from_db()
        assert token.last_used_at is not None

    def test_garbage_and_expired_tokens_get_401(self):
        from datetime import timedelta

        from django.utils import timezone
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token pyr_deadbeef_nope")
        assert client.get("/api/v1/me/").status_code == 401

        ApiToken.objects.filter(user=self.t.member).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert self.api("member").get("/api/v1/me/").status_code == 401

    def test_member_cannot_revoke_someone_elses_token_but_admin_can(self):
        owner_token = ApiToken.objects.get(user=self.t.owner)
        assert self.api("member").delete(f"/api/v1/tokens/{owner_token.id}/").status_code == 404
        assert self.api("admin").delete(f"/api/v1/tokens/{owner_token.id}/").status_code == 204
        assert self.api("owner").get("/api/v1/me/").status_code == 401

    def test_removing_a_member_kills_their_tokens(self):
        membership = self.t.member.memberships.get()
        assert self.api("admin").delete(f"/api/v1/members/{membership.id}/").status_code == 204
        assert self.api("member").get("/api/v1/me/").status_code == 401
