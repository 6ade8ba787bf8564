from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from pyrun_web.tenancy.models import CloudAccount
from tests.tenants import TenantTest


class TestKeyRotation(TenantTest):
    def test_prepending_a_key_and_reencrypting_retires_the_old_key(self, settings):
        old = settings.FIELD_ENCRYPTION_KEYS[0]
        account = CloudAccount.objects.create(
            org=self.t.org, name="a", region="eu-west-1", access_key_id="AKIAOLDKEY000000", secret_access_key="s3"
        )
        new = Fernet.generate_key().decode()
        with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
            call_command("reencrypt_secrets")
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret_access_key FROM tenancy_cloudaccount WHERE id = %s", [account.id])
            stored = cursor.fetchone()[0]
        assert Fernet(new.encode()).decrypt(stored.encode()) == b"s3"
        with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
            assert CloudAccount.objects.get(pk=account.pk).secret_access_key == "s3"

    def test_rotating_secret_key_keeps_api_tokens_working(self, settings):
        settings.SECRET_KEY = "a-completely-different-secret-key-for-this-test-0123456789"
        assert self.api("member").get("/api/v1/me/").status_code == 200
