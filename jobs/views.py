"""Runs API: start a run of a workspace, list and read jobs, follow their logs, cancel, re-run."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs import services
from jobs.backends import catalogue
from jobs.models import Job
from jobs.serializers import BackendSerializer, JobLogSerializer, JobSerializer, RunCreateSerializer
from monitoring import export, metrics, tasks_query, timeline
from monitoring.serializers import (
    MetricsQuerySerializer,
    MetricsSerializer,
    TaskEventSerializer,
    TaskQuerySerializer,
    TimelineQuerySerializer,
    TimelineSerializer,
)
from pyrun_web.api.registry import RegistryViewSet
from pyrun_web.api.serializers import LogQuerySerializer
from pyrun_web.api.viewsets import TenantViewSetMixin
from workspaces.models import Workspace


class WorkspaceRunViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    """`POST /api/v1/workspaces/{id}/runs/` (members and up)."""

    queryset = Workspace.objects.select_related("org")
    serializer_class = RunCreateSerializer

    @extend_schema(request=RunCreateSerializer, responses={201: JobSerializer})
    def create(self, request, pk=None):
        """Run `entrypoint` of the workspace: a job is queued at once (201) and starts when the org has a free
        slot. Follow it at `/api/v1/jobs/{id}/` and `/api/v1/jobs/{id}/logs/`."""
        workspace = self.get_object()  # another org's: 404; a viewer: 403
        body = RunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.create_run(workspace, request.user, **body.validated_data)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


def _download(name: str, media_type: str, schema_type: OpenApiTypes, description: str) -> Callable:
    """A job's ``export/<name>`` download: a streamed file, whatever the Accept header asks for."""
    schema = extend_schema(responses={(200, media_type): OpenApiResponse(schema_type, description=description)})
    route = action(
        detail=True,
        methods=["get"],
        url_path=f"export/{name}",
        url_name=f"export-{name}",
        filter_backends=[],
        content_negotiation_class=export.DownloadNegotiation,
    )
    return lambda view: schema(route(view))


class JobViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs of the current org, newest first. States: queued, preparing, running, succeeded, failed, cancelled,
    timed_out."""

    queryset = Job.objects.select_related("created_by")
    serializer_class = JobSerializer
    # ?tasks_failed__gt=0: the runs in which some task failed (a run may succeed all the same).
    filterset_fields = {name: ["exact"] for name in ("state", "workspace", "created_by", "backend")} | {
        "tasks_failed": ["gt"]
    }
    ordering_fields = ["created_at", "started_at", "finished_at", "state", "id"]

    @extend_schema(parameters=[LogQuerySerializer], responses=JobLogSerializer)
    @action(detail=True, methods=["get"])
    def logs(self, request, pk=None):
        """Output chunks after a seq (`?after=SEQ&limit=N`), oldest first; poll with `next_after` until
        `complete`. `stream` is stdout, stderr or system (platform messages)."""
        job = self.get_object()
        query = LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = services.log_page(job, **query.validated_data)
        return Response(JobLogSerializer(page).data)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued or running job: it is `cancelled` at once and its processes are stopped within a
        second; a job that has already ended gives 409 job:user:already-finished."""
        job = services.cancel(self.get_object())
        return Response(JobSerializer(job).data)

    @extend_schema(request=None, responses={201: JobSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        """Run the job again: a new job with the same code snapshot, runtime, entrypoint, arguments and
        environment."""
        job = services.rerun(self.get_object(), request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    # Monitoring: the task events of a job and what is computed from them (logic in monitoring/). The job's own
    # filters (state, ordering...) are not theirs: filter_backends=[] keeps them out of get_object and the docs.

    @extend_schema(parameters=[TaskQuerySerializer], responses=TaskEventSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def tasks(self, request, pk=None):
        """The job's tasks, paginated, one row per task: its `finished` or `failed` event once it ended, its
        `running` one while it runs (`events=true` gives every event instead, for following the stream with
        `after`). Filter by status, phase, group, lane, key, framework or `after` a seq; order by seq (default),
        start or duration."""
        job = self.get_object()
        query = TaskQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(tasks_query.task_events(job.pk, query.validated_data))
        return self.get_paginated_response(TaskEventSerializer(page, many=True).data)

    @extend_schema(parameters=[TimelineQuerySerializer], responses=TimelineSerializer)
    @action(detail=True, methods=["get"], filter_backends=[])
    def timeline(self, request, pk=None):
        """The Gantt chart of the window [start, end] (default: the whole job), `width` pixels wide: at most
        `width` bars per row and `rows` rows whatever the task count. Tasks that share pixels of a row merge
        into one bar (`count`, `statuses`); when few tasks are in the window every bar is one task (`exact`).
        Running tasks are drawn to `now`."""
        job = self.get_object()
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        began_at = job.running_at or job.started_at or job.created_at  # a job without tasks is drawn from here
        return Response(timeline.build_timeline(job.pk, began_at, job.finished_at, **query.validated_data))

    @extend_schema(parameters=[MetricsQuerySerializer], responses=MetricsSerializer)
    @action(detail=True, methods=["get"], filter_backends=[])
    def metrics(self, request, pk=None):
        """Task counts by status, durations (min/p50/p95/max of finished tasks), peak concurrency, stragglers,
        Lithops cold starts and per-group counts, plus the job's resource series (at most `points` points)."""
        job = self.get_object()
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(metrics.build_metrics(job.pk, job.finished_at, max_points=query.validated_data["points"]))

    @_download("log", "text/plain", OpenApiTypes.STR, "The whole output as text.")
    def export_log(self, request, pk=None):
        """Download the job's whole output (stdout, stderr and platform lines, in order) as a text file, however
        long: the IDE keeps only the last lines in the browser."""
        job = self.get_object()
        chunks = services.log_text_chunks(job.pk)
        return export.download(request, chunks, "text/plain; charset=utf-8", f"job-{job.pk}-output.log")

    @_download("trace", "application/json", OpenApiTypes.OBJECT, "A Chrome trace.")
    def export_trace(self, request, pk=None):
        """Download the task events as a Chrome trace (Trace Event Format: open it in https://ui.perfetto.dev or
        chrome://tracing): one complete event per task phase on the lane it ran on, times in microseconds since
        the first task started."""
        job = self.get_object()
        chunks = export.trace_chunks(job.pk)
        return export.download(request, chunks, "application/json", export.filename(job.pk, "json"))

    @_download("csv", "text/csv", OpenApiTypes.STR, "One row per event.")
    def export_csv(self, request, pk=None):
        """Download every task event as CSV: seq, framework, group, key, phase, status, lane, start, end (epoch
        seconds), duration (seconds), error."""
        job = self.get_object()
        chunks = export.csv_chunks(job.pk)
        return export.download(request, chunks, "text/csv; charset=utf-8", export.filename(job.pk, "csv"))


class BackendViewSet(RegistryViewSet):
    """The executor backends a run may ask for (`backend`), a workspace's `default_executor` among them: the
    built-in ones and the operator's (PYRUN_EXTRA_BACKENDS)."""

    serializer_class = BackendSerializer
    lookup_field = "name"

    def get_registry(self):
        return catalogue()
