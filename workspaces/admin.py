from __future__ import annotations

from django.contrib import admin
from django.db.models import Max
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from pyrun_web.errors import PyrunError
from runtimes.services import workspace_runtime_status
from workspaces.models import Workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "slug", "template", "size_display", "last_run", "created_by", "created_at",
                    "updated_at"]  # fmt: skip
    list_filter = ["template", "created_at", "org"]
    search_fields = ["name", "slug", "org__slug", "org__name", "created_by__email", "storage_id"]
    list_select_related = ["org", "created_by"]
    fields = ["org", "name", "slug", "template", "execution_settings", "storage_id", "folder", "size", "runtime",
              "last_run", "created_by", "created_at", "updated_at"]  # fmt: skip
    readonly_fields = [field for field in fields if field not in ("name", "execution_settings")]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # Through the reverse relation (jobs point at workspaces; workspaces import nothing of jobs).
        return super().get_queryset(request).annotate(_last_run_at=Max("jobs__created_at"))

    @admin.display(description="last run", ordering="_last_run_at")
    def last_run(self, workspace: Workspace) -> str:
        when = getattr(workspace, "_last_run_at", None)
        if when is None:
            return "-"
        url = f"{reverse('admin:jobs_job_changelist')}?workspace__id__exact={workspace.pk}"
        return format_html('<a href="{}">{}</a>', url, when.strftime("%Y-%m-%d %H:%M"))

    @admin.display(description="runtime of the current spec")
    def runtime(self, workspace: Workspace) -> str:
        # Reads the workspace's spec file: the change page only, never the list.
        try:
            status = workspace_runtime_status(workspace.spec_source())
        except PyrunError as error:
            return f"unknown: {error.message}"
        if status.runtime is None:
            return status.status if status.error is None else f"{status.status}: {status.error['message']}"
        url = reverse("admin:runtimes_runtime_change", args=[status.runtime.pk])
        size = filesizeformat(status.runtime.size_bytes)
        return format_html('<a href="{}">runtime {}</a> {} ({})', url, status.runtime.pk, status.status, size)

    @admin.display(description="size", ordering="size")
    def size_display(self, workspace: Workspace) -> str:
        return filesizeformat(workspace.size)

    @admin.display(description="folder on disk")
    def folder(self, workspace: Workspace) -> str:
        return str(workspace.path)

    def has_add_permission(self, request) -> bool:
        return False  # a workspace needs its folder and template files: create them through the API
