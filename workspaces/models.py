"""A workspace: an org's folder of code on disk, plus its name and execution settings.

The folder (``Workspace.path``) is the truth for file contents; the database holds metadata only.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from pyrun_web.tenancy.models import Organization, TenantModel
from workspaces.execution_settings import with_defaults
from workspaces.storage import WorkspaceFiles

if TYPE_CHECKING:
    from runtimes.services import SpecSource


class Workspace(TenantModel):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="workspaces")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    template = models.CharField(max_length=40, blank=True)
    # Names the folder; unlike the id it is never reused, so a leftover folder can never leak into a new workspace.
    storage_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    execution_settings = models.JSONField(default=dict, blank=True)
    size = models.PositiveBigIntegerField(
        default=0, help_text="Bytes on disk after the last change made through the API."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["org", "slug"], name="workspace_slug_per_org")]

    def __str__(self) -> str:
        return f"{self.org.slug}/{self.slug}"

    @property
    def path(self) -> Path:
        """The folder holding the workspace's files."""
        return settings.WORKSPACES_ROOT / str(self.storage_id)

    def spec_source(self) -> SpecSource:
        """Where runtimes read this workspace's spec (its ``.pyrun/``) and whom its runtimes are recorded for."""
        from runtimes.services import SpecSource

        # The storage id, unlike the pk, is never reused by a later workspace.
        return SpecSource(org_id=self.org_id, root=self.path, subject=f"workspace:{self.storage_id}")

    @property
    def lock_path(self) -> Path:
        return settings.WORKSPACES_ROOT / ".locks" / f"{self.storage_id}.lock"

    @property
    def files(self) -> WorkspaceFiles:
        limits = self.org.limits
        return WorkspaceFiles(
            self.path,
            max_file_bytes=limits.max_file_bytes,
            max_workspace_bytes=limits.max_workspace_bytes,
            spool_dir=settings.WORKSPACES_ROOT / ".incoming",
            lock_path=self.lock_path,
            on_change=self.record_size,
        )

    def record_size(self, size: int) -> None:
        self.size = size
        self.updated_at = timezone.now()
        Workspace.objects.filter(pk=self.pk).update(size=size, updated_at=self.updated_at)

    @property
    def lithops_settings(self) -> dict[str, Any]:
        return with_defaults(self.execution_settings)

    def set_lithops_settings(self, values: dict[str, Any]) -> None:
        self.execution_settings = with_defaults(values)
        self.save(update_fields=["execution_settings", "updated_at"])

    @classmethod
    def unique_slug(cls, org: Organization, name: str) -> str:
        base = slugify(name)[:50] or "workspace"
        slug, n = base, 1
        while cls.objects.for_org(org).filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug
