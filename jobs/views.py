"""Runs API: start a run of a workspace, list and read jobs, follow their logs, cancel, re-run."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs import services
from jobs.models import Job
from jobs.serializers import JobLogSerializer, JobSerializer, LogQuerySerializer, RunCreateSerializer
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


class JobViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs of the current org, newest first. States: queued, preparing, running, succeeded, failed, cancelled,
    timed_out."""

    queryset = Job.objects.select_related("created_by")
    serializer_class = JobSerializer
    filterset_fields = ["state", "workspace", "created_by", "backend"]
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
