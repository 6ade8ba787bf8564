"""A text field encrypted at rest with Fernet (cryptography), keys from ``FIELD_ENCRYPTION_KEYS``.

Written here rather than taken from a package because the maintained options pin old Django versions;
the whole field is a thin wrapper over ``cryptography.fernet.MultiFernet``, which does the real work and
supports key rotation (first key encrypts, every key decrypts).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEYS))


class EncryptedTextField(models.TextField):
    description = "Text encrypted at rest"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return cipher().encrypt(value.encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return cipher().decrypt(value.encode()).decode()
