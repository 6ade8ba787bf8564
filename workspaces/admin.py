from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from workspaces.models import Workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "slug", "template", "size_display", "created_by", "created_at", "updated_at"]
    list_filter = ["template", "created_at", "org"]
    search_fields = ["name", "slug", "org__slug", "org__name", "created_by__email", "storage_id"]
    list_select_related = ["org", "created_by"]
    fields = ["org", "name", "slug", "template", "execution_settings", "storage_id", "folder", "size", "created_by",
              "created_at", "updated_at"]  # fmt: skip
    readonly_fields = [field for field in fields if field not in ("name", "execution_settings")]
    date_hierarchy = "created_at"

    @admin.display(description="size", ordering="size")
    def size_display(self, workspace: Workspace) -> str:
        return filesizeformat(workspace.size)

    @admin.display(description="folder on disk")
    def folder(self, workspace: Workspace) -> str:
        return str(workspace.path)

    def has_add_permission(self, request) -> bool:
        return False  # a workspace needs its folder and template files: create them through the API
