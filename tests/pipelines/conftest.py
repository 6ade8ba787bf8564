import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The tenants' passwords are hashed for every test and never checked here (clients use tokens): a fast
    hasher saves seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
