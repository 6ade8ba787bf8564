from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from runtimes.models import Runtime, RuntimeLogLine


class RuntimeErrorSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="A stable error id, e.g. runtime:user:pip-failed.")
    message = serializers.CharField()


class TimingsSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True, help_text="Start of the last build.")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="End of the last build.")
    last_used_at = serializers.DateTimeField(allow_null=True)
    build_seconds = serializers.FloatField(allow_null=True)


class ArtifactsSerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text="Local runtimes: the environment's prefix (empty otherwise).")
    python = serializers.CharField(allow_null=True, help_text="Local runtimes: the interpreter jobs run.")
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
                  "attempts", "error", "timings", "created_by"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(RuntimeErrorSerializer(allow_null=True))
    def get_error(self, runtime: Runtime) -> dict | None:
        return runtime.error


class RuntimeDetailSerializer(RuntimeSerializer):
    artifacts = serializers.SerializerMethodField()
    packages = PackageSerializer(many=True, read_only=True, help_text="What the build installed.")
    spec = serializers.JSONField(read_only=True, help_text="The normalised spec the runtime was built from.")

    class Meta(RuntimeSerializer.Meta):
        fields = [*RuntimeSerializer.Meta.fields, "artifacts", "packages", "spec"]
        read_only_fields = fields

    @extend_schema_field(ArtifactsSerializer)
    def get_artifacts(self, runtime: Runtime) -> dict:
        return {
            "prefix": runtime.prefix,
            "python": str(runtime.python) if runtime.python and runtime.state == Runtime.State.READY else None,
            "layer_arns": runtime.layer_arns,
            "image_uri": runtime.image_uri,
        }


class RuntimeSummarySerializer(serializers.Serializer):
    """A runtime as other objects (a workspace) show it."""

    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Runtime.State.choices)
    error = RuntimeErrorSerializer(allow_null=True)


class LogQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, default=0, help_text="Only lines with a larger seq.")
    limit = serializers.IntegerField(min_value=1, max_value=5000, default=1000)


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
