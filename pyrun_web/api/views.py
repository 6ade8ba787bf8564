from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pyrun_web.health import platform_health


class HealthView(APIView):
    """Reachability of the database, Redis, Celery workers and beat, and the sandbox. No authentication needed.

    ``ok``: all reachable. ``degraded`` (still 200): web works but no worker or beat answers (runs would wait),
    or the sandbox is missing (user code is refused). ``down`` (503): the database or Redis is unreachable.
    Anonymous and non-staff callers get only ``{"status": …}``; the ``checks`` (worker host names, error text,
    the sandbox's walls) are for staff users, by session or by a staff user's token.
    """

    permission_classes = [AllowAny]
    throttle_classes: list = []

    def perform_authentication(self, request) -> None:
        """Authentication is optional here: a bad token or session gets the public answer, not a 401."""

    @staticmethod
    def _is_staff(request) -> bool:
        try:
            user = request.user
        except APIException:
            return False
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
                "checks": serializers.DictField(required=False, help_text="Staff users only."),
            },
        )
    )
    def get(self, request):
        status, checks = platform_health()
        body = {"status": status, "checks": checks} if self._is_staff(request) else {"status": status}
        return Response(body, status=503 if status == "down" else 200)
