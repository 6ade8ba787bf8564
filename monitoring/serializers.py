"""Query parameters and response shapes of the monitoring routes of a job (tasks, timeline, metrics).

The timeline and metrics payloads are built as plain dicts and sent as they are (100k tasks must not go through
serializer fields one by one): their serializers here document the shape for OpenAPI.
"""

from __future__ import annotations

from rest_framework import serializers

from monitoring import metrics, timeline
from monitoring.models import Framework, Phase, TaskEvent, TaskStatus
from monitoring.tasks_query import ORDERINGS


class TaskQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    phase = serializers.ChoiceField(choices=Phase.choices, required=False)
    framework = serializers.ChoiceField(choices=Framework.choices, required=False)
    group = serializers.CharField(required=False, help_text="A Lithops map (`<executor>/<job>`) or a Dask prefix.")
    lane = serializers.CharField(required=False)
    key = serializers.CharField(required=False)
    after = serializers.IntegerField(min_value=0, required=False, help_text="Only events with a larger seq.")
    ordering = serializers.ChoiceField(
        choices=list(ORDERINGS), default="seq", help_text="seq (default), start or duration; `-` for descending."
    )
    events = serializers.BooleanField(
        default=False,
        help_text="Every event instead of one row per task: a task's `running` event and then its `finished` or "
        "`failed` one, in seq order (what a client following the stream with `after` wants).",
    )


class TaskEventSerializer(serializers.ModelSerializer):
    duration = serializers.FloatField(read_only=True, allow_null=True, help_text="Seconds; null while running.")
    output = serializers.CharField(
        read_only=True,
        help_text="What the task printed (stdout and stderr as written; a failed Lithops call's traceback "
        "included), once it ended; at most `PYRUN_TASK_OUTPUT_BYTES` (64 KiB by default), then cut with a last "
        "line `… [output cut at N KiB]`. Empty when it printed nothing (Dask tasks: always).",
    )

    class Meta:
        model = TaskEvent
        fields = ["seq", "framework", "group", "key", "phase", "status", "lane", "start", "end", "duration", "error",
                  "figures", "output"]  # fmt: skip
        read_only_fields = fields


class TimelineQuerySerializer(serializers.Serializer):
    start = serializers.FloatField(required=False, help_text="Window start, epoch seconds (default: first task).")
    end = serializers.FloatField(required=False, help_text="Window end, epoch seconds (default: last end, or now).")
    width = serializers.IntegerField(
        min_value=10, max_value=timeline.MAX_WIDTH, default=timeline.DEFAULT_WIDTH, help_text="Pixels."
    )
    rows = serializers.IntegerField(
        min_value=1,
        max_value=timeline.MAX_ROWS,
        default=timeline.DEFAULT_ROWS,
        help_text="At most this many rows: with more lanes, neighbouring lanes share a row.",
    )
    group = serializers.CharField(required=False, help_text="Only the tasks of this group.")
    phase = serializers.ChoiceField(choices=Phase.choices, required=False)

    def validate(self, attrs: dict) -> dict:
        if "start" in attrs and "end" in attrs and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class TimelineWindowSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    width = serializers.IntegerField()
    seconds_per_pixel = serializers.FloatField()


class TimelineRowSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    label = serializers.CharField()
    lanes = serializers.ListField(child=serializers.CharField())


class StatusCountsSerializer(serializers.Serializer):
    running = serializers.IntegerField()
    finished = serializers.IntegerField()
    failed = serializers.IntegerField()
    lost = serializers.IntegerField(help_text="Tasks that had not reported their end when the job's processes ended.")


class GroupMetricsSerializer(StatusCountsSerializer):
    """A group's task counts by status (task/compute phases, the whole job) and when it started and ended."""

    group = serializers.CharField()
    framework = serializers.CharField()
    tasks = serializers.IntegerField(help_text="Tasks of the group in the whole job (task/compute phases).")
    start = serializers.FloatField()
    end = serializers.FloatField(allow_null=True)


class TimelineGroupSerializer(GroupMetricsSerializer):
    in_window = serializers.IntegerField(help_text="Bars of the group (all phases) in the window.")


class TimelineBarSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    lane = serializers.CharField(allow_null=True, help_text="Null when the bar merges tasks of several lanes.")
    start = serializers.FloatField()
    end = serializers.FloatField(help_text="A running task ends at `now`.")
    count = serializers.IntegerField(help_text="Tasks merged into this bar (1: the bar is that task).")
    status = serializers.CharField(help_text="The most notable status of its tasks: failed, lost, running, finished.")
    statuses = serializers.DictField(child=serializers.IntegerField(), help_text="Its tasks by status.")
    key = serializers.CharField(allow_null=True, help_text="The task's key when `count` is 1.")
    group = serializers.CharField(allow_null=True)
    phase = serializers.CharField(allow_null=True)
    seq = serializers.IntegerField(allow_null=True, help_text="The task's event seq when `count` is 1.")


class TimelineSerializer(serializers.Serializer):
    window = TimelineWindowSerializer()
    now = serializers.FloatField(help_text="Where running tasks are drawn to: now, or the job's end.")
    exact = serializers.BooleanField(help_text="Every bar is one task (nothing was merged).")
    tasks = serializers.IntegerField(help_text="Tasks in the window (the counts of the bars add up to it).")
    lanes = serializers.IntegerField(help_text="Lanes of the job.")
    rows = TimelineRowSerializer(many=True)
    groups = TimelineGroupSerializer(many=True)
    bars = TimelineBarSerializer(many=True)


class MetricsQuerySerializer(serializers.Serializer):
    points = serializers.IntegerField(
        min_value=10, max_value=metrics.MAX_POINTS, default=metrics.MAX_POINTS, help_text="Resource points at most."
    )


class DurationsSerializer(serializers.Serializer):
    count = serializers.IntegerField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # One per statistic that metrics computes (null without a finished task): the list lives there.
        stats = {name: serializers.FloatField(allow_null=True) for name in metrics.DURATION_STATS}
        return {**super().get_fields(), **stats}


class StragglerSerializer(TaskEventSerializer):
    """A slow task: the fields of its task row that say which and how slow."""

    class Meta(TaskEventSerializer.Meta):
        fields = ["key", "group", "lane", "start", "duration"]
        read_only_fields = fields


class StragglersSerializer(serializers.Serializer):
    rule = serializers.CharField()
    threshold = serializers.FloatField(allow_null=True, help_text="Seconds: max(3 * p50, p95).")
    count = serializers.IntegerField()
    tasks = StragglerSerializer(many=True, help_text="The slowest 20 at most.")


class ColdStartsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Lithops tasks that ran on a cold worker.")
    reported = serializers.IntegerField(help_text="Lithops tasks that reported whether their worker was cold.")


class ResourcePointSerializer(serializers.Serializer):
    t = serializers.FloatField(help_text="Epoch seconds of the last sample of the point.")
    cpu_percent = serializers.FloatField(help_text="Mean over the point's samples; 200 = two busy cores.")
    rss_bytes = serializers.IntegerField(help_text="Peak over the point's samples.")
    processes = serializers.IntegerField()
    read_bytes_per_s = serializers.FloatField(allow_null=True)
    write_bytes_per_s = serializers.FloatField(allow_null=True)
    net_sent_bytes_per_s = serializers.FloatField(allow_null=True, help_text="The host's, not only the job's.")
    net_recv_bytes_per_s = serializers.FloatField(allow_null=True)


class ResourceSeriesSerializer(serializers.Serializer):
    samples = serializers.IntegerField()
    samples_per_point = serializers.IntegerField()
    peak_rss_bytes = serializers.IntegerField(allow_null=True)
    peak_cpu_percent = serializers.FloatField(allow_null=True)
    points = ResourcePointSerializer(many=True)


class MetricsSerializer(serializers.Serializer):
    tasks = serializers.IntegerField(help_text="Tasks (task/compute phases), each counted once.")
    statuses = StatusCountsSerializer()
    durations = DurationsSerializer(help_text="Of finished tasks, seconds; percentiles interpolated linearly.")
    peak_concurrency = serializers.IntegerField()
    peak_at = serializers.FloatField(allow_null=True)
    stragglers = StragglersSerializer()
    cold_starts = ColdStartsSerializer()
    groups = GroupMetricsSerializer(many=True)
    resources = ResourceSeriesSerializer()
