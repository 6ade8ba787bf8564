"""Read-only views of what monitoring recorded, one job at a time (open them from a job's admin page).

The tables hold hundreds of thousands of rows per big job: no filter lists jobs (it would load every job),
counts are skipped, and a search that is a number means a job id."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from monitoring.models import ResourceSample, TaskEvent


class JobScopedAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_select_related = ["job"]
    list_per_page = 200
    search_fields = ["=job__id"]  # shows the search box; the search itself is below
    search_help_text = "A number finds a job's rows (or open them from the job's page)."
    text_search_fields: tuple[str, ...] = ()  # searched by prefix (usable on big tables)

    def get_search_results(self, request, queryset, search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(job_id=int(term)), False
        match = Q()
        for field in self.text_search_fields:
            match |= Q(**{f"{field}__startswith": term})
        return (queryset.filter(match) if self.text_search_fields else queryset.none()), False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # they go with their job


@admin.register(TaskEvent)
class TaskEventAdmin(JobScopedAdmin):
    list_display = ["job", "seq", "framework", "group", "key", "phase", "status", "lane", "start", "end"]
    list_filter = ["framework", "phase", "status"]
    search_help_text = "A number finds a job's events; other text, events whose key or group starts with it."
    text_search_fields = ("key", "group")


@admin.register(ResourceSample)
class ResourceSampleAdmin(JobScopedAdmin):
    list_display = ["job", "seq", "t", "cpu_percent", "rss_bytes", "processes", "read_bytes", "write_bytes"]
