"""The runtimes' admin pages: the build log, and the operators' rebuild, delete and garbage-collection actions
(``ops.actions``, audited)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from ops import actions
from pyrun_web.audit.models import Via
from pyrun_web.errors import PyrunError
from runtimes.admin_inlines import BuildLogInline
from runtimes.models import Runtime


@admin.register(Runtime)
class RuntimeAdmin(admin.ModelAdmin):
    list_display = ["id", "org", "state", "kind", "builder", "target", "python_version", "size_display",
                    "short_hash", "created_at", "last_used_at", "error_id"]  # fmt: skip
    list_filter = ["state", "kind", "builder", "target", "org"]
    search_fields = ["spec_hash", "org__slug", "org__name", "error_id", "error_message", "created_by__email"]
    list_select_related = ["org"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Runtime._meta.fields]
    inlines = [BuildLogInline]
    actions = ["rebuild", "delete_selected_idle", "delete_unused"]
    change_list_template = "admin/runtimes/runtime/change_list.html"

    def get_urls(self):
        gc = self.admin_site.admin_view(require_POST(self.gc_view))
        return [path("gc/", gc, name="runtimes_runtime_gc"), *super().get_urls()]

    def gc_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """The beat's garbage collection, now: every org's runtimes unused for the GC period, orphaned folders."""
        if not self.has_delete_permission(request):
            raise PermissionDenied
        deleted = actions.collect_garbage(by=request.user, via=Via.ADMIN)
        days = settings.PYRUN_RUNTIME_GC_DAYS
        text = f"Garbage collection deleted {len(deleted)} runtime(s) unused for {days} days: {deleted or 'none'}."
        self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:runtimes_runtime_changelist"))

    def get_actions(self, request):
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # bulk delete would skip the "not while building" rule
        return found

    def has_delete_permission(self, request, obj: Runtime | None = None) -> bool:
        if obj is not None and obj.is_active:
            return False  # cancel the build first
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj: Runtime) -> None:
        actions.delete_runtime(obj, by=request.user, via=Via.ADMIN)

    @admin.display(description="size", ordering="size_bytes")
    def size_display(self, runtime: Runtime) -> str:
        return filesizeformat(runtime.size_bytes)

    @admin.display(description="spec hash", ordering="spec_hash")
    def short_hash(self, runtime: Runtime) -> str:
        return runtime.spec_hash[:12]

    def has_add_permission(self, request) -> bool:
        return False  # runtimes come from specs: through the API or a Run

    def _each(self, request, queryset, action: Callable[..., None]) -> tuple[int, int]:
        """``action`` on every selected runtime: how many it was done to, and how many were building; any other
        refusal (e.g. the org is out of build minutes) is shown as a warning."""
        done, busy = 0, 0
        for runtime in queryset.select_related("org"):
            try:
                action(runtime, by=request.user, via=Via.ADMIN)
                done += 1
            except PyrunError as error:
                if error.id == "runtime:user:busy":
                    busy += 1
                else:
                    self.message_user(request, f"Runtime {runtime.pk}: {error.message}", messages.WARNING)
        return done, busy

    @admin.action(description="Rebuild the selected runtimes")
    def rebuild(self, request, queryset) -> None:
        done, busy = self._each(request, queryset, actions.rebuild_runtime)
        self.message_user(request, f"Queued {done} rebuild(s); {busy} already building.", messages.SUCCESS)

    @admin.action(description="Delete the selected runtimes (not while building)", permissions=["delete"])
    def delete_selected_idle(self, request, queryset) -> None:
        done, busy = self._each(request, queryset, actions.delete_runtime)
        self.message_user(request, f"Deleted {done} runtime(s); kept {busy} building.", messages.SUCCESS)

    @admin.action(description="Delete the selected runtimes if unused for the GC period", permissions=["delete"])
    def delete_unused(self, request, queryset) -> None:
        days = settings.PYRUN_RUNTIME_GC_DAYS
        selected = queryset.count()
        deleted = actions.delete_unused_runtimes(queryset, by=request.user, via=Via.ADMIN)
        kept = selected - len(deleted)
        message = f"Deleted {len(deleted)} runtime(s) unused for {days} days; kept {kept} in use or building."
        self.message_user(request, message, messages.SUCCESS)
