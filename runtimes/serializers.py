from __future__ import annotations

import re

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from runtimes.models import Runtime, RuntimeLogLine


def without_host_paths(text: str, runtime: Runtime | None = None) -> str:
    """``text`` with the server's folders (build output names them) replaced by stable names: a tenant never
    sees a host path. Staff pages read the model and keep them."""
    names = {str(settings.DATA_DIR): "<data>", str(settings.RUNTIMES_ROOT): "<runtimes>"}
    if runtime is not None:
        own = f"<runtime {runtime.pk}>"
        names.update({runtime.prefix: own, str(runtime.build_dir or ""): own})
        version = runtime.python_version
        names[runtime.extra.get("base_prefix", "")] = f"<python {version}>" if version else "<python>"
    paths = sorted((p for p in names if p), key=len, reverse=True)  # the longest first: /a/b before /a
    # A whole path or a path's start only: /data is not replaced in /database.
    pattern = re.compile("(?:" + "|".join(re.escape(p) for p in paths) + r")(?![\w.-])")
    return pattern.sub(lambda found: names[found.group(0)], text)


def public_error(runtime: Runtime) -> dict[str, str] | None:
    error = runtime.error
    return None if error is None else {**error, "message": without_host_paths(error["message"], runtime)}


class RuntimeErrorSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="A stable error id, e.g. runtime:user:pip-failed.")
    message = serializers.CharField()

    def to_representation(self, instance: dict) -> dict:
        data = super().to_representation(instance)
        data["message"] = without_host_paths(data["message"])
        return data


class TimingsSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True, help_text="Start of the last build.")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="End of the last build.")
    last_used_at = serializers.DateTimeField(allow_null=True)
    build_seconds = serializers.FloatField(allow_null=True)


class ArtifactsSerializer(serializers.Serializer):
    # Stable names, never the server's paths (which tell a tenant about the host and change with a rebuild).
    prefix = serializers.CharField(
        help_text="Local runtimes: the environment jobs run in, as `runtime-<id>` (empty otherwise)."
    )
    python = serializers.CharField(
        allow_null=True, help_text="The interpreter jobs run, e.g. `python 3.11.7` (null until the runtime is ready)."
    )
    layer_arns = serializers.ListField(child=serializers.CharField())
    image_uri = serializers.CharField()


class PackageSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    source = serializers.CharField(required=False, help_text="pypi or conda.")
    build = serializers.CharField(required=False)
    channel = serializers.CharField(required=False)


class RuntimeSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()
    timings = TimingsSerializer(source="*", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = Runtime
        fields = ["id", "state", "kind", "builder", "target", "source", "spec_hash", "python_version", "size_bytes",
                  "attempts", "build_phase", "error", "timings", "created_by"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(RuntimeErrorSerializer(allow_null=True))
    def get_error(self, runtime: Runtime) -> dict | None:
        return public_error(runtime)


class RuntimeDetailSerializer(RuntimeSerializer):
    artifacts = serializers.SerializerMethodField()
    packages = PackageSerializer(many=True, read_only=True, help_text="What the build installed.")
    spec = serializers.JSONField(read_only=True, help_text="The normalised spec the runtime was built from.")

    class Meta(RuntimeSerializer.Meta):
        fields = [*RuntimeSerializer.Meta.fields, "artifacts", "packages", "spec"]
        read_only_fields = fields

    @extend_schema_field(ArtifactsSerializer)
    def get_artifacts(self, runtime: Runtime) -> dict:
        ready = runtime.state == Runtime.State.READY
        return {
            "prefix": f"runtime-{runtime.pk}" if runtime.prefix else "",
            "python": f"python {runtime.python_version}".strip() if ready and runtime.python else None,
            "layer_arns": runtime.layer_arns,
            "image_uri": runtime.image_uri,
        }


class RuntimeSummarySerializer(serializers.Serializer):
    """A runtime as other objects (a workspace) show it."""

    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Runtime.State.choices)
    error = RuntimeErrorSerializer(allow_null=True)


class LogLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuntimeLogLine
        fields = ["seq", "text", "created_at"]


class RuntimeLogSerializer(serializers.Serializer):
    runtime = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Runtime.State.choices)
    lines = LogLineSerializer(many=True)
    next_after = serializers.IntegerField(help_text="Pass as ?after= to get the lines that follow.")
    more = serializers.BooleanField(help_text="True when more lines are already there (the answer hit limit).")
