from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from pyrun_web.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first FIELD_ENCRYPTION_KEY (run after prepending a key)."

    def handle(self, *args, **options) -> None:
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            count = 0
            with transaction.atomic():
                # Loading decrypts with any configured key; saving encrypts with the first one.
                for row in model._default_manager.select_for_update().only("pk", *fields).iterator():
                    row.save(update_fields=fields)
                    count += 1
            self.stdout.write(f"re-encrypted {count} {model._meta.verbose_name_plural}")
