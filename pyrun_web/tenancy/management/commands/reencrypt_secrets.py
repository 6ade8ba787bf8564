from django.core.management.base import BaseCommand
from django.db import transaction

from pyrun_web.tenancy.models import CloudAccount


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first FIELD_ENCRYPTION_KEY (run after prepending a new key)."

    def handle(self, *args, **options) -> None:
        count = 0
        with transaction.atomic():
            # Loading decrypts with any configured key; saving encrypts with the first one.
            for account in CloudAccount.objects.select_for_update():
                account.save(update_fields=["access_key_id", "secret_access_key", "external_id"])
                count += 1
        self.stdout.write(f"re-encrypted {count} cloud account(s)")
