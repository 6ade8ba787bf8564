from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.serializers import JobSerializer
from pipelines.registry import TYPES, Pipeline
from workspaces.serializers import WorkspaceSerializer


@extend_schema_field(OpenApiTypes.ANY)
class AnyValueField(serializers.JSONField):
    pass


class PipelineParameterSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The key in `parameters` of a launch; the script's option --name.")
    type = serializers.ChoiceField(choices=TYPES)
    default = AnyValueField()
    help = serializers.CharField()
    min = serializers.FloatField(allow_null=True, help_text="Numbers: the smallest value accepted.")
    max = serializers.FloatField(allow_null=True, help_text="Numbers: the largest value accepted.")
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)


class PipelineSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    framework = serializers.ChoiceField(choices=["lithops", "dask"])
    backend = serializers.CharField(source="default_backend", help_text="The backend a launch runs on by default.")
    backends = serializers.ListField(child=serializers.CharField(), help_text="The backends a launch accepts.")
    expected_seconds = serializers.IntegerField(
        help_text="About how long a run with the default parameters takes on the embedded default (2 cores, local "
        "processes), once its runtime is built."
    )
    entrypoint = serializers.CharField(help_text="The file a launch runs.")
    parameters = PipelineParameterSerializer(many=True)
    files = serializers.SerializerMethodField()

    def get_files(self, pipeline: Pipeline) -> list[str]:
        return pipeline.files()


class PipelineLaunchSerializer(serializers.Serializer):
    org = serializers.CharField(
        required=False,
        help_text="Optional: the id or slug of the organisation the request acts in (as for every write, it is the "
        "token's org, or the one chosen with the X-PyRun-Org header); another one is refused.",
    )
    name = serializers.CharField(max_length=120, required=False, help_text="Workspace name; default: the title.")
    parameters = serializers.DictField(
        child=AnyValueField(), required=False, default=dict, help_text="{name: value}; omitted ones take defaults."
    )
    backend = serializers.CharField(
        max_length=40, required=False, allow_null=True, help_text="Default: the pipeline's `backend`."
    )


class PipelineLaunchResultSerializer(serializers.Serializer):
    workspace = WorkspaceSerializer()
    job = JobSerializer()
