from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.models import Job, JobState, LogChunk


class JobErrorSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="A stable error id, e.g. job:user:exit-code.")
    message = serializers.CharField()


class JobSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()
    env_names = serializers.SerializerMethodField(help_text="Names of the variables set for the run (values hidden).")
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)
    runtime = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The runtime the job ran on.")
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True, help_text="From claim to end (or now).")
    task_events_dropped = serializers.IntegerField(
        read_only=True,
        help_text="Task events the job reported that were not kept (over the platform's limit per job, or sent "
        "faster than they could be written): the task list and timeline miss them.",
    )

    tasks_total = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Tasks the job ran (Lithops calls, Dask computes), known once its processes ended; null before, "
        "or when it reported none.",
    )
    tasks_failed = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Of those, tasks that raised. A job can succeed with failed tasks."
    )
    tasks_lost = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Of those, tasks that had not reported their end when the job's processes ended (cancelled, timed "
        "out, killed).",
    )

    class Meta:
        model = Job
        fields = ["id", "workspace", "entrypoint", "args", "env_names", "backend", "state", "exit_code", "error",
                  "runtime", "snapshot_hash", "rerun_of", "created_by", "cancel_requested", "created_at", "started_at",
                  "running_at", "finished_at", "duration_seconds", "log_lines", "log_bytes", "cpu_seconds",
                  "peak_rss_bytes", "task_events_dropped", "tasks_total", "tasks_failed", "tasks_lost"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(JobErrorSerializer(allow_null=True))
    def get_error(self, job: Job) -> dict | None:
        return job.error

    def get_env_names(self, job: Job) -> list[str]:
        return sorted(job.env)


class RunCreateSerializer(serializers.Serializer):
    entrypoint = serializers.CharField(max_length=500, trim_whitespace=False, help_text="A file of the workspace.")
    backend = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        help_text="lithops-localhost, lithops-aws-lambda, dask-local or dask-scheduler; default: the workspace's "
        "default executor.",
    )
    args = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False, default=list
    )
    env = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=dict,
        help_text="Extra environment variables (names the platform sets, e.g. PATH or DASK_*, are refused).",
    )


class LogChunkSerializer(serializers.ModelSerializer):
    class Meta:
        model = LogChunk
        fields = ["seq", "stream", "text", "created_at"]


class JobLogSerializer(serializers.Serializer):
    chunks = LogChunkSerializer(many=True)
    next_after = serializers.IntegerField(help_text="Pass as ?after= to get the chunks that follow.")
    state = serializers.ChoiceField(choices=JobState.choices)
    complete = serializers.BooleanField(help_text="The job has ended and no chunk follows this page: stop polling.")


class BackendSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="What a run's `backend` (or a workspace's `default_executor`) names.")
    builtin = serializers.BooleanField(help_text="False for an operator's backend (PYRUN_EXTRA_BACKENDS).")
    target = serializers.CharField(
        allow_null=True, help_text="The runtime it runs on: local, lambda-layer or image; null when unavailable."
    )
    error = serializers.CharField(help_text="Why it cannot be used on this platform; empty when it can.")
