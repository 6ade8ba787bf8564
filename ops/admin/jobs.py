"""The jobs' admin pages: the log tail, links to the monitoring rows, and the operators' cancel, re-run and
mark-failed actions (``ops.actions``, audited)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from jobs.models import Job, LogChunk
from ops import actions
from pyrun_web.audit.models import Via
from pyrun_web.errors import PyrunError

LOG_TAIL_CHUNKS = 20
LOG_TAIL_LINES = 40


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
    readonly_fields = [f.name for f in Job._meta.fields if f.name != "env_json"] + [
        "env_names", "log_size", "log_tail", "monitoring",
    ]  # fmt: skip
    inlines = [LogChunkInline]
    actions = ["cancel", "rerun", "mark_failed"]

    @admin.display(description="last log lines")
    def log_tail(self, job: Job) -> str:
        chunks = list(job.log_chunks.order_by("-seq").values_list("text", flat=True)[:LOG_TAIL_CHUNKS])
        lines = "".join(reversed(chunks)).splitlines()[-LOG_TAIL_LINES:]
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", "\n".join(lines)) if lines else "-"

    @admin.display(description="monitoring")
    def monitoring(self, job: Job) -> str:
        query = urlencode({"job__id__exact": job.pk})
        return format_html(
            '<a href="{}?{}">task events</a> · <a href="{}?{}">resource samples</a>',
            reverse("admin:monitoring_taskevent_changelist"), query,
            reverse("admin:monitoring_resourcesample_changelist"), query,
        )  # fmt: skip

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
        results = [actions.cancel_job(job, by=request.user, via=Via.ADMIN) for job in queryset]
        done = sum(results)
        self.message_user(
            request, f"Cancelled {done} job(s); {len(results) - done} had already ended.", messages.SUCCESS
        )

    @admin.action(description="Re-run the selected jobs (same code snapshot)")
    def rerun(self, request, queryset) -> None:
        for job in queryset:
            try:
                new = actions.rerun_job(job, by=request.user, via=Via.ADMIN)
            except PyrunError as error:
                self.message_user(request, f"Job {job.pk}: {error.message}", messages.WARNING)
            else:
                self.message_user(request, f"Job {job.pk} re-run as job {new.pk}.", messages.SUCCESS)

    @admin.action(description="Mark the selected jobs failed (stops them)")
    def mark_failed(self, request, queryset) -> None:
        results = [actions.mark_job_failed(job, by=request.user, via=Via.ADMIN) for job in queryset]
        done = sum(results)
        text = f"Marked {done} job(s) failed; {len(results) - done} had already ended."
        self.message_user(request, text, messages.SUCCESS)
