from __future__ import annotations

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat

from jobs import services
from jobs.models import Job, LogChunk
from pyrun_web.errors import PyrunError


class LogChunkInline(admin.TabularInline):
    model = LogChunk
    fields = ["seq", "stream", "text", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    verbose_name_plural = "log (last chunks, newest first)"

    def get_queryset(self, request):
        # The end of the log is what an operator needs; a huge log must not make the page unusable.
        ids = list(super().get_queryset(request).order_by("-seq").values_list("pk", flat=True)[:100])
        return super().get_queryset(request).filter(pk__in=ids).order_by("-seq")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "org", "workspace", "entrypoint", "backend", "state", "exit_code", "error_id",
                    "created_by", "created_at", "duration", "worker"]  # fmt: skip
    list_filter = ["state", "backend", "org", "created_at"]
    search_fields = ["entrypoint", "error_id", "error_message", "workspace__name", "org__slug", "org__name",
                     "created_by__email", "snapshot_hash", "worker"]  # fmt: skip
    list_select_related = ["org", "workspace", "created_by"]
    date_hierarchy = "created_at"
    # env_json holds the user's variables (maybe secrets): only their names are shown.
    exclude = ["env_json"]
    readonly_fields = [f.name for f in Job._meta.fields if f.name != "env_json"] + ["env_names", "log_size"]
    inlines = [LogChunkInline]
    actions = ["cancel"]

    @admin.display(description="duration")
    def duration(self, job: Job) -> str:
        seconds = job.duration_seconds
        return "" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="environment variables")
    def env_names(self, job: Job) -> str:
        return ", ".join(sorted(job.env)) or "-"

    @admin.display(description="log size")
    def log_size(self, job: Job) -> str:
        return f"{job.log_lines} lines, {filesizeformat(job.log_bytes)}"

    def has_add_permission(self, request) -> bool:
        return False  # a job needs a snapshot and a worker: start runs through the API

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # state changes only through transitions (see the cancel action)

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset) -> None:
        done, ended = 0, 0
        for job in queryset:
            try:
                services.cancel(job)
                done += 1
            except PyrunError:
                ended += 1
        self.message_user(request, f"Cancelled {done} job(s); {ended} had already ended.", messages.SUCCESS)
