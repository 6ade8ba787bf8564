from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from pyrun_web.errors import PyrunError
from runtimes import services
from runtimes.models import Runtime, RuntimeLogLine


class RuntimeLogLineInline(admin.TabularInline):
    model = RuntimeLogLine
    fields = ["seq", "text", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-seq"]
    max_num = 0
    verbose_name_plural = "build log (newest first)"

    def get_queryset(self, request):
        # The last lines are what an operator needs; a runaway log must not make the page unusable.
        ids = list(super().get_queryset(request).order_by("-seq").values_list("pk", flat=True)[:200])
        return super().get_queryset(request).filter(pk__in=ids)


@admin.register(Runtime)
class RuntimeAdmin(admin.ModelAdmin):
    list_display = ["id", "org", "state", "kind", "builder", "target", "python_version", "size_display",
                    "short_hash", "created_at", "last_used_at", "error_id"]  # fmt: skip
    list_filter = ["state", "kind", "builder", "target", "org"]
    search_fields = ["spec_hash", "org__slug", "org__name", "error_id", "error_message", "created_by__email"]
    list_select_related = ["org"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Runtime._meta.fields]
    inlines = [RuntimeLogLineInline]
    actions = ["rebuild", "delete_unused"]

    @admin.display(description="size", ordering="size_bytes")
    def size_display(self, runtime: Runtime) -> str:
        return filesizeformat(runtime.size_bytes)

    @admin.display(description="spec hash", ordering="spec_hash")
    def short_hash(self, runtime: Runtime) -> str:
        return runtime.spec_hash[:12]

    def has_add_permission(self, request) -> bool:
        return False  # runtimes come from specs: through the API or a Run

    @admin.action(description="Rebuild the selected runtimes")
    def rebuild(self, request, queryset) -> None:
        done, busy = 0, 0
        for runtime in queryset:
            try:
                services.rebuild(runtime)
                done += 1
            except PyrunError:
                busy += 1
        self.message_user(request, f"Queued {done} rebuild(s); {busy} already building.", messages.SUCCESS)

    @admin.action(description="Delete the selected runtimes if unused for the GC period")
    def delete_unused(self, request, queryset) -> None:
        days = settings.PYRUN_RUNTIME_GC_DAYS
        unused = queryset.unused_since(timezone.now() - timedelta(days=days))
        count = unused.count()
        unused.delete()
        kept = queryset.count()
        message = f"Deleted {count} runtime(s) unused for {days} days; kept {kept} in use or building."
        self.message_user(request, message, messages.SUCCESS)
