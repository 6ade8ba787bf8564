"""Tenancy operations with their rules (last owner, owner-only grants) in one place; each security-relevant one
writes an audit entry (``pyrun_web.audit``) in its own transaction, whether the API, the admin or a command asked."""

from __future__ import annotations

import secrets
from dataclasses import fields as dataclass_fields
from datetime import timedelta
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from pyrun_web.audit.models import Action, Via
from pyrun_web.audit.services import record
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import (
    ApiToken,
    CloudAccount,
    Invitation,
    Limits,
    Membership,
    Organization,
    Role,
    User,
)


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
def create_organization_by(user: User, name: str) -> Organization:
    """A user creates an organisation (the API, the IDE's "New organisation"): they own it. The number of
    organisations one account owns is capped (``PYRUN_MAX_OWNED_ORGS_PER_USER``): creating them costs nothing and
    each gets its own quotas."""
    from django.conf import settings

    limit = settings.PYRUN_MAX_OWNED_ORGS_PER_USER
    # Locked: two requests at once must not both pass the count.
    owned = Membership.objects.select_for_update().filter(user=user, role=Role.OWNER)
    if limit and len(owned) >= limit:
        raise PyrunError("tenancy:user:too-many-orgs", limit=limit)
    return create_organization(name.strip(), user)


@transaction.atomic
def create_tenant(
    org_name: str, email: str, password: str | None = None, *, via: Via = Via.COMMAND
) -> tuple[Organization, User, str]:
    """Ensure org ``org_name`` (matched by slug) with ``email`` as an owner; return a new token's key.

    Running it again for the same pair is safe: it only issues another token.
    """
    user, _ = get_or_create_user(email, password)
    slug = slugify(org_name)[:50] or "org"
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        org = create_organization(org_name, user, slug)
    Membership.objects.get_or_create(org=org, user=user, defaults={"role": Role.OWNER})
    token, key = ApiToken.issue(user=user, org=org, name=f"createtenant-{secrets.token_hex(2)}")
    record(Action.TOKEN_CREATED, via=via, target=token, details={"user": user.email, "name": token.name})
    return org, user, key


def _owners(org: Organization):
    return Membership.objects.filter(org=org, role=Role.OWNER)


@transaction.atomic
def change_role(membership: Membership, role: Role, by: Membership, *, via: Via = Via.API) -> Membership:
    role = Role(role)
    touches_owner = Role.OWNER in (role, membership.role_enum)
    if touches_owner and not by.can(Role.OWNER):
        raise PyrunError("tenancy:user:owner-only")
    if membership.role == Role.OWNER and role != Role.OWNER and _owners(membership.org).count() == 1:
        raise PyrunError("tenancy:user:last-owner")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    if old != role:
        details = {"user": membership.user.email, "role": [old, role.value]}
        record(Action.MEMBER_ROLE_CHANGED, actor=by.user, via=via, target=membership, details=details)
    return membership


@transaction.atomic
def remove_member(membership: Membership, by: Membership, *, via: Via = Via.API) -> None:
    if membership.user_id != by.user_id and not by.can(Role.ADMIN):
        raise PyrunError("auth:user:role-required", role=Role.ADMIN.value, org=membership.org.slug)
    if membership.role == Role.OWNER:
        if membership.user_id != by.user_id and not by.can(Role.OWNER):
            raise PyrunError("tenancy:user:owner-only")
        if _owners(membership.org).count() == 1:
            raise PyrunError("tenancy:user:last-owner")
    # Tokens act as the member: they end with the membership.
    revoked = (
        ApiToken.objects.for_org(membership.org).filter(user=membership.user).active().update(revoked_at=timezone.now())
    )
    details = {"user": membership.user.email, "role": membership.role, "tokens_revoked": revoked}
    record(Action.MEMBER_REMOVED, actor=by.user, via=via, target=membership, details=details)
    membership.delete()


@transaction.atomic
def issue_token(
    membership: Membership,
    name: str,
    expires_in_days: int | None = None,
    *,
    via: Via = Via.API,
    minted_by: ApiToken | None = None,
):
    """A new token for the member themself (there is no way to mint one for someone else).

    A token never carries more than its member's role: it acts with the membership's role at each request, so
    a token mints only tokens of the same user, org and role. ``minted_by`` (the token the request came with)
    also bounds the lifetime: a token cannot mint one that outlives it; without ``expires_in_days`` the new
    token expires with it.
    """
    expires = timedelta(days=expires_in_days) if expires_in_days else None
    if minted_by is not None and minted_by.expires_at is not None:
        if expires is None:
            expires = minted_by.expires_at - timezone.now()
        elif timezone.now() + expires > minted_by.expires_at:
            raise PyrunError("auth:user:token-outlives-parent", expires_at=minted_by.expires_at.isoformat())
    token, key = ApiToken.issue(user=membership.user, org=membership.org, name=name, expires_in=expires)
    if minted_by is not None and minted_by.expires_at is not None and token.expires_at > minted_by.expires_at:
        token.expires_at = minted_by.expires_at  # "expires with it", to the microsecond
        token.save(update_fields=["expires_at"])
    details = {
        "user": membership.user.email,
        "name": name,
        "expires_at": token.expires_at and token.expires_at.isoformat(),
    }
    if minted_by is not None:
        details["minted_by"] = minted_by.prefix
    record(Action.TOKEN_CREATED, actor=membership.user, via=via, target=token, details=details)
    return token, key


@transaction.atomic
def revoke_token(token: ApiToken, *, by: Any, via: Via) -> bool:
    """Revoke ``token``; False (and no audit entry) when it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoke()
    details = {"user": token.user.email, "name": token.name, "prefix": token.prefix}
    record(Action.TOKEN_REVOKED, actor=by, via=via, target=token, details=details)
    return True


# --- Quotas ------------------------------------------------------------------------------------------------

QUOTA_FIELDS = tuple(field.name for field in dataclass_fields(Limits))


@transaction.atomic
def set_quotas(org: Organization, values: dict[str, int | None], *, by: Any, via: Via) -> dict[str, list]:
    """Set some of ``org``'s quota overrides (None = back to the platform default); returns and audits what
    changed as ``{field: [old, new]}``. Jobs and builds read the org's limits when they start, so a change
    applies from the next run on."""
    unknown = set(values) - set(QUOTA_FIELDS)
    if unknown:
        raise ValueError(f"not a quota: {', '.join(sorted(unknown))}")
    locked = Organization.objects.select_for_update().get(pk=org.pk)
    changes = {name: [getattr(locked, name), value] for name, value in values.items() if getattr(locked, name) != value}
    if changes:
        for name, (_, value) in changes.items():
            setattr(locked, name, value)
            setattr(org, name, value)
        locked.save(update_fields=list(changes))
        record(Action.QUOTA_CHANGED, actor=by, via=via, target=locked, org=locked, details={"changes": changes})
    return changes


# --- Cloud accounts ----------------------------------------------------------------------------------------

CLOUD_SECRET_FIELDS = ("access_key_id", "secret_access_key", "external_id")


def record_cloud_account_saved(account: CloudAccount, *, created: bool, changed: list[str], by: Any, via: Via) -> None:
    """Audit a saved account: the names of the fields that changed, never a secret's value."""
    if not created and not changed:
        return
    action = Action.CLOUD_ACCOUNT_CREATED if created else Action.CLOUD_ACCOUNT_CHANGED
    details: dict[str, Any] = {"changed": sorted(changed), "auth_type": account.auth_type, "region": account.region}
    if account.role_arn:
        details["role_arn"] = account.role_arn
    record(action, actor=by, via=via, target=account, details=details)


@transaction.atomic
def save_cloud_account(account: CloudAccount, values: dict[str, Any], *, by: Any, via: Via) -> CloudAccount:
    """Apply ``values`` to ``account`` (new or existing), save and audit it."""
    created = account.pk is None
    changed = [name for name, value in values.items() if created or getattr(account, name) != value]
    for name, value in values.items():
        setattr(account, name, value)
    account.save()
    record_cloud_account_saved(account, created=created, changed=changed, by=by, via=via)
    return account


@transaction.atomic
def delete_cloud_account(account: CloudAccount, *, by: Any, via: Via) -> None:
    details = {"auth_type": account.auth_type, "region": account.region, "name": account.name}
    record(Action.CLOUD_ACCOUNT_DELETED, actor=by, via=via, target=account, details=details)
    account.delete()


# --- Invitations -------------------------------------------------------------------------------------------


def _invitation_mail(invitation: Invitation, accept_url: str) -> None:
    inviter = invitation.invited_by.email if invitation.invited_by else "An administrator"
    context = {"invitation": invitation, "inviter": inviter, "accept_url": accept_url, "org": invitation.org}
    subject = render_to_string("registration/invitation_subject.txt", context).strip().splitlines()[0]
    body = render_to_string("registration/invitation_email.txt", context)
    send_mail(subject, body, None, [invitation.email])


@transaction.atomic
def invite_member(
    org: Organization, email: str, role: Role | str, by: Membership, *, accept_url, via: Via = Via.API
) -> tuple[Invitation, str]:
    """Invite ``email`` to ``org`` with ``role`` and mail the link; returns ``(invitation, link)``.

    ``accept_url`` turns the token into the absolute link. Nobody gets an account or a membership until the
    invitee accepts; an earlier pending invitation of the same email to the same org stops working.
    """
    role = Role(role)
    if role == Role.OWNER and not by.can(Role.OWNER):
        raise PyrunError("tenancy:user:owner-only")
    email = User.objects.normalize_email(email).strip().lower()
    if Membership.objects.filter(org=org, user__email__iexact=email).exists():
        raise PyrunError("tenancy:user:already-member", email=email, org=org.slug)
    Invitation.objects.for_org(org).pending().filter(email=email).update(revoked_at=timezone.now())
    invitation, token = Invitation.issue(org=org, email=email, role=role, invited_by=by.user)
    link = accept_url(token)
    details = {"email": email, "role": role.value, "expires_at": invitation.expires_at.isoformat()}
    record(Action.MEMBER_INVITED, actor=by.user, via=via, target=invitation, details=details)
    transaction.on_commit(lambda: _invitation_mail(invitation, link))
    return invitation, link


@transaction.atomic
def revoke_invitation(invitation: Invitation, *, by: Any, via: Via = Via.API) -> bool:
    """Revoke a pending invitation; False (and no audit entry) when it was no longer pending."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        return False
    invitation.revoke()
    record(Action.INVITATION_REVOKED, actor=by, via=via, target=invitation, details={"email": invitation.email})
    return True


def check_invitation(token: str) -> Invitation:
    """The pending invitation of a link's token, or the error that says why the link does not work."""
    invitation = Invitation.find(token)
    if invitation is None:
        raise PyrunError("tenancy:user:invitation-invalid")
    if invitation.status != Invitation.Status.PENDING:
        raise PyrunError("tenancy:user:invitation-used", status=invitation.status.label.lower())
    return invitation


@transaction.atomic
def accept_invitation(token: str, user: User) -> Membership:
    """``user`` (who must own the invited email) joins the org; the link is used up."""
    invitation = check_invitation(token)
    # Only the invitation row is locked: PostgreSQL cannot lock the nullable side of the inviter join.
    locked = Invitation.objects.select_for_update(of=("self",)).select_related("org", "invited_by")
    invitation = locked.get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:  # someone else used it meanwhile
        raise PyrunError("tenancy:user:invitation-used", status=invitation.status.label.lower())
    if user.email.lower() != invitation.email:
        raise PyrunError("tenancy:user:invitation-other-account", email=invitation.email)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership, created = Membership.objects.get_or_create(
        org=invitation.org, user=user, defaults={"role": invitation.role}
    )
    if created:
        details = {
            "user": user.email,
            "role": invitation.role,
            "invitation": invitation.pk,
            "invited_by": invitation.invited_by.email if invitation.invited_by else None,
        }
        record(Action.MEMBER_ADDED, actor=user, via=Via.API, target=membership, details=details)
    return membership


@transaction.atomic
def accept_invitation_with_new_account(token: str, password: str) -> tuple[User, Membership]:
    """The invitee has no account yet: create it with the password they chose, then accept."""
    invitation = check_invitation(token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise PyrunError("tenancy:user:invitation-account-exists", email=invitation.email)
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=invitation.email, password=password)
    except IntegrityError:  # created by a concurrent request meanwhile
        raise PyrunError("tenancy:user:invitation-account-exists", email=invitation.email) from None
    return user, accept_invitation(token, user)
