from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pyrun_web.backends import backend_names
from runtimes.serializers import RuntimeSummarySerializer
from runtimes.services import WorkspaceRuntimeStatus, workspace_runtime_status
from templates_lib.registry import DEFAULT_TEMPLATE, TEMPLATES
from workspaces import execution_settings as lc
from workspaces.models import Workspace
from workspaces.paths import forbidden_character


class WorkspaceSerializer(serializers.ModelSerializer):
    template = serializers.ChoiceField(
        choices=list(TEMPLATES),
        default=DEFAULT_TEMPLATE,
        help_text="The starting files (see /api/v1/templates/); only at creation.",
    )
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)
    runtime = serializers.SerializerMethodField(help_text="The runtime of the current spec (or the one used before).")
    runtime_status = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "template", "size", "created_by", "created_at", "updated_at", "runtime",
                  "runtime_status"]  # fmt: skip
        read_only_fields = ["slug", "size", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # the template only seeds a new workspace
            fields["template"].read_only = True
        return fields

    def validate_name(self, value: str) -> str:
        found = forbidden_character(value)
        if found:
            raise serializers.ValidationError(
                f"The name contains {found}; control, invisible and bidi characters are not allowed."
            )
        return value

    def _runtime_status(self, workspace: Workspace) -> WorkspaceRuntimeStatus:
        # Both runtime fields come from one look at the spec file (a list serializer shares this cache).
        cache = self.__dict__.setdefault("_runtime_statuses", {})
        if workspace.pk not in cache:
            cache[workspace.pk] = workspace_runtime_status(workspace.spec_source())
        return cache[workspace.pk]

    @extend_schema_field(RuntimeSummarySerializer(allow_null=True))
    def get_runtime(self, workspace: Workspace) -> dict | None:
        found = self._runtime_status(workspace)
        if found.runtime is None:
            return None
        return {"id": found.runtime.pk, "state": found.runtime.state, "error": found.runtime.error}

    @extend_schema_field(
        serializers.ChoiceField(
            choices=["none", "building", "ready", "failed", "outdated"],
            help_text="outdated: the current spec has no runtime yet, an earlier spec's ready runtime was used.",
        )
    )
    def get_runtime_status(self, workspace: Workspace) -> str:
        return self._runtime_status(workspace).status


class EntrySerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Relative to the workspace root, with / separators.")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["file", "dir", "symlink", "other"])
    size = serializers.IntegerField(help_text="Bytes; for a folder, the total of the files in it.")
    mtime = serializers.DateTimeField()
    etag = serializers.CharField(allow_null=True, help_text="Files only; send it back in If-Match when saving.")


class TreeSerializer(serializers.Serializer):
    path = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text="True when the folder has more entries than one answer lists.")
    entries = EntrySerializer(many=True)


class MoveSerializer(serializers.Serializer):
    # "from" is a Python keyword, hence the explicit field name.
    from_ = serializers.CharField(trim_whitespace=False)
    to = serializers.CharField(trim_whitespace=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class UploadSerializer(serializers.Serializer):
    path = serializers.CharField(
        required=False, default="", allow_blank=True, trim_whitespace=False, help_text="Target folder."
    )
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)
    archives = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, help_text="Zip files to unpack into the folder."
    )


_SCHEDULER = re.compile(r"^(tcp|tls|ws|wss|inproc|ucx)://[^\s/]+$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class ExecutionSettingsSerializer(serializers.Serializer):
    """How Run executes this workspace; omitted fields take their defaults."""

    # Choices are set per instance (get_fields): any registered backend, built-in or PYRUN_EXTRA_BACKENDS.
    default_executor = serializers.ChoiceField(choices=[], default=lc.DEFAULTS["default_executor"])
    backend = serializers.ChoiceField(choices=lc.BACKENDS, default=lc.DEFAULTS["backend"], help_text="Lithops compute.")
    storage = serializers.ChoiceField(choices=lc.STORAGES, default=lc.DEFAULTS["storage"], help_text="Lithops storage.")
    runtime_memory = serializers.IntegerField(
        min_value=lc.MEMORY_MB[0], max_value=lc.MEMORY_MB[1], default=lc.DEFAULTS["runtime_memory"], help_text="MB."
    )
    runtime_timeout = serializers.IntegerField(
        min_value=1,
        default=lc.DEFAULTS["runtime_timeout"],
        help_text=f"Seconds per task; at most {lc.TIMEOUT_MAX['aws_lambda']} on aws_lambda.",
    )
    workers = serializers.IntegerField(
        min_value=lc.WORKERS[0],
        max_value=lc.WORKERS[1],
        allow_null=True,
        default=None,
        help_text="Null: backend default.",
    )
    log_level = serializers.ChoiceField(choices=lc.LOG_LEVELS, default=lc.DEFAULTS["log_level"])
    storage_bucket = serializers.RegexField(
        _BUCKET, allow_blank=True, default="", help_text="S3 bucket for aws_s3; empty: the cloud account's bucket."
    )
    lambda_execution_role = serializers.RegexField(
        _ROLE_ARN, allow_blank=True, default="", help_text="IAM role ARN the Lambda functions run as."
    )
    dask_scheduler_address = serializers.RegexField(
        _SCHEDULER, allow_blank=True, default="", help_text="For dask-scheduler, e.g. tcp://scheduler:8786."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["default_executor"].choices = backend_names()
        return fields

    def validate(self, attrs: dict) -> dict:
        found = lc.problems(attrs)
        if found:
            raise serializers.ValidationError(found)
        return attrs


class SearchMatchSerializer(serializers.Serializer):
    path = serializers.CharField()
    line = serializers.IntegerField(help_text="1-based.")
    column = serializers.IntegerField(help_text="1-based, in characters of the whole line.")
    text = serializers.CharField(help_text="The line, or a window of it around the match when it is long.")
    match_start = serializers.IntegerField(help_text="Where the match starts in `text` (0-based).")
    match_end = serializers.IntegerField()


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    case_sensitive = serializers.BooleanField()
    results = SearchMatchSerializer(many=True)
    truncated = serializers.BooleanField(help_text="More matches than `limit`: only the first are listed.")
    partial = serializers.BooleanField(help_text="The time or byte budget ran out: some files were not searched.")
    files_searched = serializers.IntegerField()
    files_skipped = serializers.IntegerField(help_text="Too large, binary or unreadable.")
