"""The part of a runtime's admin page that shows its build log: the log's table is the runtimes app's own, so the
operator console (``ops.admin``) borrows this inline instead of reading the table itself."""

from __future__ import annotations

from django.contrib import admin

from runtimes.models import RuntimeLogLine


class BuildLogInline(admin.TabularInline):
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
