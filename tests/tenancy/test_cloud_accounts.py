from django.db import connection

from pyrun_web.tenancy.models import CloudAccount
from tests.tenancy.test_roles import NEW_ACCOUNT
from tests.tenants import TenantTest

SECRET = NEW_ACCOUNT["secret_access_key"]
KEY_ID = NEW_ACCOUNT["access_key_id"]


class TestCloudAccounts(TenantTest):
    def create(self):
        response = self.api("admin").post("/api/v1/cloud-accounts/", NEW_ACCOUNT, format="json")
        assert response.status_code == 201, response.json()
        return response

    def test_secrets_never_come_back_from_the_api(self):
        created = self.create()
        detail = self.api("viewer").get(f"/api/v1/cloud-accounts/{created.json()['id']}/")
        for response in (created, detail, self.api("owner").get("/api/v1/cloud-accounts/")):
            assert SECRET not in response.content.decode()
            assert KEY_ID not in response.content.decode()
        assert detail.json()["access_key_hint"] == "AKIA…MNOP"
        assert detail.json()["has_secret"] is True

    def test_secrets_are_encrypted_at_rest_and_usable(self):
        account_id = self.create().json()["id"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT access_key_id, secret_access_key FROM tenancy_cloudaccount")
            stored = repr(cursor.fetchall())
        assert SECRET not in stored and KEY_ID not in stored
        account = CloudAccount.objects.get(pk=account_id)
        assert (account.access_key_id, account.secret_access_key) == (KEY_ID, SECRET)
        assert SECRET not in repr(account) and SECRET not in str(account)

    def test_update_with_blank_secret_keeps_it(self):
        account_id = self.create().json()["id"]
        response = self.api("admin").patch(
            f"/api/v1/cloud-accounts/{account_id}/", {"bucket": "my-lithops-bucket", "secret_access_key": ""}
        )
        assert response.status_code == 200, response.json()
        assert CloudAccount.objects.get(pk=account_id).secret_access_key == SECRET

    def test_role_account_needs_a_role_arn(self):
        response = self.api("admin").post(
            "/api/v1/cloud-accounts/", {"name": "r", "region": "eu-west-1", "auth_type": "role", "role_arn": "nope"}
        )
        assert response.status_code == 400
        assert "role_arn" in response.json()["error"]["fields"]
        response = self.api("admin").post(
            "/api/v1/cloud-accounts/",
            {"name": "r", "region": "eu-west-1", "auth_type": "role", "role_arn": "arn:aws:iam::123456789012:role/run"},
        )
        assert response.status_code == 201

    def test_admin_change_page_does_not_show_secrets(self, client):
        account_id = self.create().json()["id"]
        self.t.owner.is_staff = self.t.owner.is_superuser = True
        self.t.owner.save()
        client.force_login(self.t.owner)
        page = client.get(f"/admin/tenancy/cloudaccount/{account_id}/change/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "eu-west-1" in html or "us-east-1" in html
        assert SECRET not in html and KEY_ID not in html
