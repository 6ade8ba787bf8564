"""The pipelines (the same for every org) and their launch: one call makes a workspace from a pipeline and runs it."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from pipelines import services
from pipelines.registry import PIPELINES, Pipeline
from pipelines.serializers import PipelineLaunchResultSerializer, PipelineLaunchSerializer, PipelineSerializer
from pyrun_web.api.context import resolve_membership
from pyrun_web.api.permissions import HasOrgRole
from pyrun_web.api.registry import RegistryViewSet
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import Role


def _pipeline(slug: str) -> Pipeline:
    try:
        return PIPELINES[slug]
    except KeyError:
        raise Http404 from None


class PipelineViewSet(RegistryViewSet):
    """Ready-to-run applications: launch one with `POST /api/v1/pipelines/{slug}/launch/`."""

    serializer_class = PipelineSerializer
    registry = PIPELINES


class PipelineLaunch(generics.GenericAPIView):
    """Members and up: copy the pipeline into a new workspace of the current org and run it."""

    permission_classes = [IsAuthenticated, HasOrgRole]
    write_role = Role.MEMBER
    serializer_class = PipelineLaunchSerializer

    @extend_schema(request=PipelineLaunchSerializer, responses={201: PipelineLaunchResultSerializer})
    def post(self, request, slug: str):
        """Create a workspace from the pipeline (its code, runtime definition, sample data and README) and queue
        a run of its entrypoint with `parameters` as command-line options (`{"tasks": 8}` → `--tasks 8`). Follow the
        job at `/api/v1/jobs/{id}/`; its results land in the workspace's `results/` folder when it succeeds. A bad
        parameter (unknown name, wrong type, out of range) is a 400 `pipelines:user:bad-parameter`."""
        pipeline = _pipeline(slug)
        body = PipelineLaunchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        org = resolve_membership(request).org
        if "org" in data and data["org"] not in (str(org.pk), org.slug):
            raise PyrunError("pipelines:user:other-org", org=org.slug)
        launched = services.launch(
            pipeline,
            org=org,
            user=request.user,
            name=data.get("name"),
            parameters=data.get("parameters"),
            backend=data.get("backend"),
        )
        result = PipelineLaunchResultSerializer({"workspace": launched.workspace, "job": launched.job})
        return Response(result.data, status=status.HTTP_201_CREATED)
