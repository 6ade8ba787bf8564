"""Tenancy core: users, organisations, memberships with roles, API tokens, cloud accounts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from pyrun_web.fields import EncryptedTextField


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def at_least(self, other: Role | str) -> bool:
        return self.rank >= Role(other).rank


_ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class EmailUserManager(UserManager):
    """Users log in with their email; ``username`` is kept equal to it for Django's admin and auth."""

    def _create_user(self, username, email, password, **extra):
        email = self.normalize_email(email or username).lower()
        return super()._create_user(email, email, password, **extra)

    def create_user(self, email, password=None, **extra):  # type: ignore[override]
        return super().create_user(email, email, password, **extra)

    def create_superuser(self, email, password=None, **extra):  # type: ignore[override]
        return super().create_superuser(email, email, password, **extra)


class User(AbstractUser):
    email = models.EmailField(unique=True)
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = EmailUserManager()

    def save(self, *args, **kwargs):
        self.email = self.email.lower()
        self.username = self.email
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.email


@dataclass(frozen=True)
class Limits:
    max_concurrent_jobs: int
    max_job_seconds: int
    max_file_bytes: int
    max_workspace_bytes: int
    job_memory_bytes: int
    job_max_processes: int
    job_disk_bytes: int = 10 * 1024**3
    # Minutes of runtime builds per calendar month; 0 means no limit (see runtimes.services.check_build_quota).
    max_build_minutes_per_month: int = 0


def new_external_id() -> str:
    """A random AWS external id (2-1224 chars of ``[\\w+=,.@:/-]``)."""
    return f"pyrun-{secrets.token_hex(16)}"


class OrganizationQuerySet(models.QuerySet):
    def for_user(self, user) -> OrganizationQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Organization(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Quotas; empty means the platform default from settings.PYRUN_LIMITS.
    max_concurrent_jobs = models.PositiveIntegerField(null=True, blank=True)
    max_job_seconds = models.PositiveIntegerField(null=True, blank=True)
    max_file_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    max_workspace_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    job_memory_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    job_max_processes = models.PositiveIntegerField(null=True, blank=True)
    job_disk_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Disk one job may fill: its copy of the workspace, /tmp and $HOME."
    )
    max_build_minutes_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Runtime build minutes per calendar month; 0 means no limit."
    )
    # Sent as ExternalId with every AssumeRole for this org: fixed by the platform, never chosen by a tenant, so
    # another org cannot make the platform act in this org's AWS account by entering its role ARN.
    aws_external_id = models.CharField(max_length=64, unique=True, default=new_external_id, editable=False)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.slug

    @property
    def limits(self) -> Limits:
        defaults = settings.PYRUN_LIMITS
        return Limits(**{k: getattr(self, k) if getattr(self, k) is not None else v for k, v in defaults.items()})

    @classmethod
    def unique_slug(cls, name: str) -> str:
        base = slugify(name)[:50] or "org"
        slug, n = base, 1
        while cls.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug


class TenantQuerySet(models.QuerySet):
    """The queryset of every org-owned model: code asks for an org's rows, never for all rows."""

    def for_org(self, org: Organization) -> TenantQuerySet:
        return self.filter(org=org)

    def for_user(self, user) -> TenantQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(org__memberships__user=user)


class TenantModel(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class RevocableCredential(TenantModel):
    """A secret handed out once and stored hashed (an API token, an invitation link): listed newest first,
    revoked for good."""

    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class Membership(TenantModel):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "user"], name="one_membership_per_org")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} ({self.role})"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def can(self, role: Role | str) -> bool:
        return self.role_enum.at_least(role)


TOKEN_PREFIX = "pyr"  # noqa: S105 (a public marker that makes leaked keys greppable)


def _hash_key(key: str) -> str:
    # Keys carry 256 bits of randomness, so a plain SHA-256 is enough (no stretching, no salt), and it is
    # not keyed by SECRET_KEY so rotating that key does not log every CI pipeline out.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(TenantQuerySet):
    def active(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(RevocableCredential):
    """An API key for one user acting in one org; only a keyed hash of the key is stored."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_PREFIX}_{self.prefix}_…)"

    @classmethod
    def issue(cls, *, user, org: Organization, name: str, expires_in: timedelta | None = None):
        """Create a token and return ``(token, key)``; the key is never retrievable again."""
        prefix = secrets.token_hex(4)
        key = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        token = cls.objects.create(
            user=user,
            org=org,
            name=name,
            prefix=prefix,
            key_hash=_hash_key(key),
            expires_at=timezone.now() + expires_in if expires_in else None,
        )
        return token, key

    @classmethod
    def authenticate(cls, key: str) -> ApiToken | None:
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        token = cls.objects.active().select_related("user", "org").filter(prefix=parts[1]).first()
        if token is None or not hmac.compare_digest(token.key_hash, _hash_key(key)):
            return None
        if not token.user.is_active:
            return None
        token.touch()
        return token

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def touch(self) -> None:
        now = timezone.now()
        stale = now - timedelta(seconds=settings.API_TOKEN_TOUCH_SECONDS)
        if self.last_used_at is None or self.last_used_at < stale:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class CloudAccount(TenantModel):
    """AWS credentials of an org (access keys or a role to assume); secrets are encrypted at rest."""

    class AuthType(models.TextChoices):
        ACCESS_KEYS = "access_keys", "Access keys"
        ROLE = "role", "Assume role"

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="cloud_accounts")
    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=10, default="aws", editable=False)
    auth_type = models.CharField(max_length=12, choices=AuthType.choices, default=AuthType.ACCESS_KEYS)
    region = models.CharField(max_length=32)
    bucket = models.CharField(max_length=63, blank=True)
    access_key_id = EncryptedTextField(blank=True)
    secret_access_key = EncryptedTextField(blank=True)
    role_arn = models.CharField(max_length=200, blank=True)
    external_id = EncryptedTextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="cloud_account_name_per_org")]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider}, {self.region})"

    def __repr__(self) -> str:
        # Never let a secret reach a log line through a repr.
        return f"<CloudAccount {self.pk} {self.name!r} org={self.org_id}>"

    @property
    def access_key_hint(self) -> str:
        key = self.access_key_id or ""
        return f"{key[:4]}…{key[-4:]}" if len(key) >= 8 else ""

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_access_key)


class InvitationQuerySet(TenantQuerySet):
    def pending(self) -> InvitationQuerySet:
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.PYRUN_INVITATION_DAYS)


class Invitation(RevocableCredential):
    """An invitation to join an org: an expiring, single-use link mailed to ``email``.

    The invitee sets their own password (a new account) or accepts while logged in as that email (an existing
    one); nobody else ever chooses it. Only a hash of the link's token is stored.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.email} to {self.org_id} ({self.role})"

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @classmethod
    def issue(cls, *, org: Organization, email: str, role: Role | str, invited_by) -> tuple[Invitation, str]:
        """Create an invitation and return ``(invitation, token)``; the token is never retrievable again."""
        token = secrets.token_urlsafe(32)
        invitation = cls.objects.create(
            org=org, email=email, role=Role(role), invited_by=invited_by, token_hash=_hash_key(token)
        )
        return invitation, token

    @classmethod
    def find(cls, token: str) -> Invitation | None:
        """The invitation of a link's token, in any state; None for a token that was never issued."""
        if not token or len(token) > 100:
            return None
        return cls.objects.select_related("org").filter(token_hash=_hash_key(token)).first()

    @property
    def status(self) -> Invitation.Status:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
