"""Workspaces: create from a template, list, rename, delete, and their execution settings."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from pyrun_web.api.viewsets import TenantModelViewSet
from runtimes import services as runtime_services
from runtimes.serializers import RuntimeDetailSerializer
from workspaces import search, services
from workspaces.models import Workspace
from workspaces.serializers import ExecutionSettingsSerializer, SearchResultSerializer, WorkspaceSerializer

SEARCH_PARAMETERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        required=True,
        description=f"The text to find, literally (at most {search.MAX_QUERY} characters).",
    ),
    OpenApiParameter(
        "case_sensitive", OpenApiTypes.BOOL, required=False, description="Match case (default: false, ignore it)."
    ),
    OpenApiParameter(
        "limit",
        OpenApiTypes.INT,
        required=False,
        description=f"At most this many matches, 1 to {search.MAX_LIMIT} (default {search.DEFAULT_LIMIT}).",
    ),
]


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

    @extend_schema(operation_id="workspaces_search", parameters=SEARCH_PARAMETERS, responses=SearchResultSerializer)
    @action(detail=True, methods=["get"], url_path="search", filter_backends=[], pagination_class=None)
    def search(self, request, pk=None):
        """Every line of the workspace's text files that holds `q`, literally: path, line, column and the line's
        text. Files over 2 MiB, binary files, symlinks, FIFOs and tool folders (`.git`, `node_modules`, `.venv`,
        `__pycache__`) are skipped. Stops at `limit` matches (`truncated`) and after a few seconds or 64 MiB read
        (`partial`)."""
        workspace = self.get_object()
        query = search.check_query(request.query_params.get("q", ""))
        limit = search.parse_limit(request.query_params.get("limit"))
        case_sensitive = request.query_params.get("case_sensitive", "").lower() in ("1", "true", "yes")
        found = search.search(workspace.path, query, case_sensitive=case_sensitive, limit=limit)
        return Response(SearchResultSerializer(found).data)
