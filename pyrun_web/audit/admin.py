from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from pyrun_web.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are written by the actions themselves and never edited or deleted by hand."""

    list_display = ["created_at", "actor_repr", "via", "action", "org_repr", "target_type", "target_repr", "summary"]
    list_filter = ["action", "via", "created_at"]
    search_fields = ["actor_repr", "org_repr", "target_repr", "=target_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log only grows: no COUNT(*) of it on every page
    fields = ["created_at", "actor", "actor_repr", "via", "action", "org", "org_repr", "target_type", "target_id",
              "target_repr", "details_pretty"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="details")
    def summary(self, entry: AuditEntry) -> str:
        text = json.dumps(entry.details, sort_keys=True, ensure_ascii=False)
        return text if len(text) <= 120 else text[:119] + "…"

    @admin.display(description="details")
    def details_pretty(self, entry: AuditEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(entry.details, indent=2, sort_keys=True, ensure_ascii=False))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
