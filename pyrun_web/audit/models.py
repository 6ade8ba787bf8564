"""The audit log: who did what to which object, for operator and security-relevant actions.

Rows are written by :func:`pyrun_web.audit.services.record` in the same transaction as the action (a rolled-back
action leaves no entry) and never changed afterwards. Actor, org and target are also kept as text, so an entry
still reads right after the user, the org or the object is deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    TOKEN_CREATED = "token.created", "API token created"
    TOKEN_REVOKED = "token.revoked", "API token revoked"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    MEMBER_INVITED = "member.invited", "Member invited"
    INVITATION_REVOKED = "member.invitation_revoked", "Invitation revoked"
    QUOTA_CHANGED = "org.quota_changed", "Quota changed"
    CLOUD_ACCOUNT_CREATED = "cloud_account.created", "Cloud account created"
    CLOUD_ACCOUNT_CHANGED = "cloud_account.changed", "Cloud account changed"
    CLOUD_ACCOUNT_DELETED = "cloud_account.deleted", "Cloud account deleted"
    CLOUD_ACCOUNT_TESTED = "cloud_account.tested", "Cloud account connection tested"
    JOB_CANCELLED = "job.cancelled", "Job cancelled by staff"
    JOB_RERUN = "job.rerun", "Job re-run by staff"
    JOB_MARKED_FAILED = "job.marked_failed", "Job marked failed by staff"
    RUNTIME_REBUILT = "runtime.rebuilt", "Runtime rebuild requested by staff"
    RUNTIME_DELETED = "runtime.deleted", "Runtime deleted by staff"
    RUNTIMES_COLLECTED = "runtime.gc", "Unused runtimes collected by staff"


# A label is written where it says more than the name; Django labels the others from it ("Admin").
class Via(models.TextChoices):
    API = "api", "API"
    ADMIN = "admin"
    COMMAND = "command", "manage.py"
    SYSTEM = "system", "Platform"


class AuditEntry(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The actor's email when it was written; for a command, the operating-system user that ran it.
    actor_repr = models.CharField("who", max_length=254, blank=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    org_repr = models.CharField("organisation", max_length=60, blank=True)
    target_type = models.CharField(max_length=60, blank=True)  # app_label.model, e.g. "tenancy.apitoken"
    target_id = models.CharField(max_length=40, blank=True)
    target_repr = models.CharField("target", max_length=200, blank=True)
    # What changed (old and new values, counts, results); secrets are never stored, only that they changed.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_repr or '-'} {self.action} {self.target_repr}"
