"""Runtimes of the current org: list, detail, build log, rebuild, cancel, delete."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pyrun_web.api.serializers import LogQuerySerializer
from pyrun_web.api.viewsets import TenantViewSetMixin
from runtimes import services
from runtimes.models import Runtime
from runtimes.serializers import RuntimeDetailSerializer, RuntimeLogSerializer, RuntimeSerializer


class RuntimeViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Built environments of the org's workspaces, one per spec hash (spec, build context, target, Python).
    A workspace gets its runtime with `POST /api/v1/workspaces/{id}/runtime/`; viewers can only read."""

    queryset = Runtime.objects.select_related("created_by")
    filterset_fields = ["state", "kind", "target", "builder"]
    ordering_fields = ["created_at", "last_used_at", "size_bytes", "state"]

    def get_serializer_class(self):
        return RuntimeSerializer if self.action == "list" else RuntimeDetailSerializer

    def perform_destroy(self, instance: Runtime) -> None:
        services.delete_runtime(instance)

    @extend_schema(parameters=[LogQuerySerializer], responses=RuntimeLogSerializer)
    @action(detail=True, methods=["get"])
    def log(self, request, pk=None):
        """The build log after a seq (`?after=SEQ`), oldest first; poll with the returned `next_after`."""
        runtime = self.get_object()
        query = LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        lines = list(runtime.log_lines.filter(seq__gt=after).order_by("seq")[: limit + 1])
        more = len(lines) > limit
        lines = lines[:limit]
        data = {
            "runtime": runtime.pk,
            "state": runtime.state,
            "lines": lines,
            "next_after": lines[-1].seq if lines else after,
            "more": more,
        }
        return Response(RuntimeLogSerializer(data).data)

    @extend_schema(request=None, responses={202: RuntimeDetailSerializer})
    @action(detail=True, methods=["post"])
    def rebuild(self, request, pk=None):
        """Build the runtime again; it is pending, then building, until the new build ends."""
        runtime = services.rebuild(self.get_object())
        return Response(RuntimeDetailSerializer(runtime).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: RuntimeDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop a pending or running build; it ends failed with runtime:user:cancelled."""
        runtime = services.cancel(self.get_object())
        return Response(RuntimeDetailSerializer(runtime).data, status=status.HTTP_202_ACCEPTED)
