"""Every test starts with an owner, an admin, a member and a viewer of one org, and an outsider who owns
another org (with objects of its own), plus API clients that authenticate as each of them with a token."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from pyrun_web.tenancy.models import ApiToken, Membership, Organization, Role, User
from pyrun_web.tenancy.services import create_organization

PASSWORD = "correct horse battery staple"


@dataclass
class Tenants:
    org: Organization
    other_org: Organization
    owner: User
    admin: User
    member: User
    viewer: User
    outsider: User
    keys: dict[str, str] = field(default_factory=dict)

    def user(self, name: str) -> User:
        return getattr(self, name)

    def client(self, name: str) -> APIClient:
        """An API client authenticated with ``name``'s token (the outsider's acts in the other org)."""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.keys[name]}")
        return client

    def session_client(self, name: str) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(self.user(name))
        return client


@functools.cache
def _password_hash(hashers: tuple[str, ...]) -> str:
    """PASSWORD hashed once per test process and hasher list: the real hasher spends a million PBKDF2 rounds (about
    0.4 s here) on each call, and nearly every API test makes five accounts. Each one still has that real hash and
    logs in with PASSWORD; only the salt is shared between them."""
    return make_password(PASSWORD)


def make_tenants() -> Tenants:
    users = {name: User.objects.create_user(f"{name}@example.com", None) for name in
             ("owner", "admin", "member", "viewer", "outsider")}  # fmt: skip
    password = _password_hash(tuple(settings.PASSWORD_HASHERS))
    User.objects.filter(pk__in=[user.pk for user in users.values()]).update(password=password)
    for user in users.values():
        user.password = password
    org = create_organization("Acme Research", users["owner"])
    other = create_organization("Globex", users["outsider"])
    for name, role in (("admin", Role.ADMIN), ("member", Role.MEMBER), ("viewer", Role.VIEWER)):
        Membership.objects.create(org=org, user=users[name], role=role)
    keys = {}
    for name, user in users.items():
        _, keys[name] = ApiToken.issue(user=user, org=other if name == "outsider" else org, name="test")
    return Tenants(org=org, other_org=other, keys=keys, **users)


class TenantTest:
    """Base class: ``self.t`` holds the tenants; ``self.api(name)`` is a token client for that user."""

    t: Tenants

    @pytest.fixture(autouse=True)
    def _tenants(self, tenants: Tenants) -> None:
        self.t = tenants

    def api(self, name: str) -> APIClient:
        return self.t.client(name)
