"""Serializers shared by the apps' APIs."""

from __future__ import annotations

from rest_framework import serializers


class LogQuerySerializer(serializers.Serializer):
    """The query of a numbered log (a job's chunks, a build's lines): what follows ``after``, ``limit`` at most."""

    after = serializers.IntegerField(min_value=0, default=0, help_text="Only entries with a larger seq.")
    limit = serializers.IntegerField(min_value=1, max_value=5000, default=1000)
