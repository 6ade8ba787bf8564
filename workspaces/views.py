"""Workspaces: create from a template, list, rename, delete, and their execution settings."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from pyrun_web.api.viewsets import TenantModelViewSet
from runtimes import services as runtime_services
from runtimes.serializers import RuntimeDetailSerializer
from workspaces import services
from workspaces.models import Workspace
from workspaces.serializers import ExecutionSettingsSerializer, WorkspaceSerializer


class WorkspaceViewSet(TenantModelViewSet):
    """The current org's workspaces. POST `{name, template}` creates one with the template's files; DELETE also
    deletes its files. Files live under `files/`."""

    serializer_class = WorkspaceSerializer
    queryset = Workspace.objects.select_related("org", "created_by")
    filterset_fields = ["template", "slug"]
    ordering_fields = ["name", "created_at", "updated_at", "size"]

    def perform_create(self, serializer: WorkspaceSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.create_workspace(
            org=self.org, user=self.request.user, name=data["name"], template=data["template"]
        )

    @extend_schema(methods=["GET"], request=None, responses=ExecutionSettingsSerializer)
    @extend_schema(methods=["PUT", "PATCH"], request=ExecutionSettingsSerializer, responses=ExecutionSettingsSerializer)
    @action(detail=True, methods=["get", "put", "patch"], url_path="config")
    def config(self, request, pk=None):
        """How Run executes this workspace: the default executor and the Lithops settings. PUT replaces them
        (omitted fields take their defaults), PATCH changes the fields it names."""
        workspace = self.get_object()
        if request.method in ("PUT", "PATCH"):
            data = request.data
            if request.method == "PATCH" and isinstance(data, Mapping):
                data = {**workspace.lithops_settings, **{key: data[key] for key in data}}
            serializer = ExecutionSettingsSerializer(data=data)
            serializer.is_valid(raise_exception=True)
            workspace.set_lithops_settings(serializer.validated_data)
        return Response(ExecutionSettingsSerializer(workspace.lithops_settings).data)

    @extend_schema(request=None, responses={200: RuntimeDetailSerializer, 202: RuntimeDetailSerializer})
    @action(detail=True, methods=["post"], url_path="runtime")
    def runtime(self, request, pk=None):
        """Get the runtime of the workspace's current `.pyrun/` spec (target local): a ready one is returned as is
        (200); otherwise one build is queued (202) — follow it at `/api/v1/runtimes/{id}/log/`. A spec file that
        does not parse gives a failed runtime whose error names the line."""
        workspace = self.get_object()
        runtime = runtime_services.ensure_workspace_runtime(
            workspace.spec_source(), user=request.user, org=workspace.org
        )
        runtime.refresh_from_db()  # the build may have moved on already
        code = status.HTTP_202_ACCEPTED if runtime.is_active else status.HTTP_200_OK
        return Response(RuntimeDetailSerializer(runtime).data, status=code)
