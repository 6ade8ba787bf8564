"""Tenancy operations with their rules (last owner, owner-only grants) in one place."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import ApiToken, Membership, Organization, Role, User


def get_or_create_user(email: str, password: str | None = None) -> tuple[User, bool]:
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(email=email, password=password)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user, True


@transaction.atomic
def create_organization(name: str, owner: User, slug: str | None = None) -> Organization:
    org = Organization.objects.create(name=name, slug=slug or Organization.unique_slug(name))
    Membership.objects.create(org=org, user=owner, role=Role.OWNER)
    return org


@transaction.atomic
def create_tenant(org_name: str, email: str, password: str | None = None) -> tuple[Organization, User, str]:
    """Ensure org ``org_name`` (matched by slug) with ``email`` as an owner; return a new token's key.

    Running it again for the same pair is safe: it only issues another token.
    """
    user, _ = get_or_create_user(email, password)
    slug = slugify(org_name)[:50] or "org"
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        org = create_organization(org_name, user, slug)
    Membership.objects.get_or_create(org=org, user=user, defaults={"role": Role.OWNER})
    _, key = ApiToken.issue(user=user, org=org, name=f"createtenant-{secrets.token_hex(2)}")
    return org, user, key


def _owners(org: Organization):
    return Membership.objects.filter(org=org, role=Role.OWNER)


@transaction.atomic
def add_member(org: Organization, email: str, role: Role, by: Membership, password: str | None = None):
    if Role(role) == Role.OWNER and not by.can(Role.OWNER):
        raise PyrunError("tenancy:user:owner-only")
    user, _ = get_or_create_user(email, password)
    if Membership.objects.filter(org=org, user=user).exists():
        raise PyrunError("tenancy:user:already-member", email=user.email, org=org.slug)
    return Membership.objects.create(org=org, user=user, role=role)


@transaction.atomic
def change_role(membership: Membership, role: Role, by: Membership) -> Membership:
    role = Role(role)
    touches_owner = Role.OWNER in (role, membership.role_enum)
    if touches_owner and not by.can(Role.OWNER):
        raise PyrunError("tenancy:user:owner-only")
    if membership.role == Role.OWNER and role != Role.OWNER and _owners(membership.org).count() == 1:
        raise PyrunError("tenancy:user:last-owner")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(membership: Membership, by: Membership) -> None:
    if membership.user_id != by.user_id and not by.can(Role.ADMIN):
        raise PyrunError("auth:user:role-required", role=Role.ADMIN.value, org=membership.org.slug)
    if membership.role == Role.OWNER:
        if membership.user_id != by.user_id and not by.can(Role.OWNER):
            raise PyrunError("tenancy:user:owner-only")
        if _owners(membership.org).count() == 1:
            raise PyrunError("tenancy:user:last-owner")
    # Tokens act as the member: they end with the membership.
    ApiToken.objects.for_org(membership.org).filter(user=membership.user).active().update(revoked_at=timezone.now())
    membership.delete()


def issue_token(membership: Membership, name: str, expires_in_days: int | None = None):
    expires = timedelta(days=expires_in_days) if expires_in_days else None
    return ApiToken.issue(user=membership.user, org=membership.org, name=name, expires_in=expires)
