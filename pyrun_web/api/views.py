from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pyrun_web.health import platform_health


class HealthView(APIView):
    """Reachability of the database, Redis, Celery workers and beat. No authentication.

    ``ok``: all reachable. ``degraded`` (still 200): web works but no worker or beat answers, so runs
    would wait. ``down`` (503): the database or Redis is unreachable.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
                "checks": serializers.DictField(),
            },
        )
    )
    def get(self, request):
        status, checks = platform_health()
        return Response({"status": status, "checks": checks}, status=503 if status == "down" else 200)
