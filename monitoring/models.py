"""What monitoring keeps of a job: its task events and the resource samples of its process tree.

Both are append-only and numbered per job from 1 without gaps (``seq``), like log chunks: a websocket client
resumes from the last seq it saw and gets neither a gap nor a duplicate. Times are epoch seconds (floats, as
the frameworks report them): a timeline of 100k tasks is read and downsampled without converting datetimes.
"""

from __future__ import annotations

from django.db import models


class Framework(models.TextChoices):
    LITHOPS = "lithops"
    DASK = "dask"


class Phase(models.TextChoices):
    TASK = "task"  # a whole Lithops call (its figures hold the function's own start and end)
    COMPUTE = "compute"  # Dask phases, from the scheduler's startstops
    TRANSFER = "transfer"
    DISK_READ = "disk-read"
    DISK_WRITE = "disk-write"


class TaskStatus(models.TextChoices):
    RUNNING = "running"  # started; a later event of the same key and phase ends it
    FINISHED = "finished"
    FAILED = "failed"
    # Never reported by a job: the runner ends with it a task that had not reported its end when the job's processes
    # ended (the job was cancelled or timed out, or its process was killed), so it is told apart from a task that
    # raised.
    LOST = "lost"


class TaskEvent(models.Model):
    """One phase of one task: a bar on the Gantt chart (``end`` is None while it runs)."""

    # No foreign key constraint in the database, and no index of its own (the unique (job, seq) index serves every
    # lookup by job): PostgreSQL checked the constraint with a query per inserted row at commit, about a third of
    # the server's CPU for a COPY of events. Only the job's ingest writes rows, for its own job; deleting a job
    # still deletes its events (Django cascades), and rows written after a job's deletion are pruned
    # (monitoring.retention).
    job = models.ForeignKey(
        "jobs.Job", on_delete=models.CASCADE, related_name="task_events", db_constraint=False, db_index=False
    )
    seq = models.PositiveIntegerField()
    framework = models.CharField(max_length=8, choices=Framework.choices)
    # The Lithops map (``<executor>/<job>``, e.g. ``a1b2c3-0/M000``) or the Dask key prefix (``inc``).
    group = models.CharField(max_length=200)
    key = models.CharField(max_length=300)  # the task within the job: ``<group>/<call id>`` or the Dask key
    phase = models.CharField(max_length=10, choices=Phase.choices)
    status = models.CharField(max_length=8, choices=TaskStatus.choices)
    # Where it ran: a Lithops worker process (``pid 1234``), a Dask worker thread (``tcp://...:port #2``) or,
    # where the framework names no worker (Lambda), a slot packed so that bars of one lane never overlap.
    lane = models.CharField(max_length=200)
    start = models.FloatField()
    end = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Framework figures: Lithops submit/function times, cold start, cpu, memory; Dask nbytes, thread.
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="one_task_event_per_seq")]
        # Writing 50k events a second leaves room for one index besides the seq's: the timeline's window.
        indexes = [models.Index(fields=["job", "start"])]

    def __str__(self) -> str:
        return f"job {self.job_id} #{self.seq} {self.key} {self.phase} {self.status}"


class TaskOutput(models.Model):
    """What one task printed (its stdout and stderr, as its framework captured them), cut at
    ``PYRUN_TASK_OUTPUT_BYTES`` with a visible marker. A table of its own rather than a column of ``TaskEvent``:
    event rows are written 50k a second and most tasks print nothing, so output never rides on an event."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="task_outputs")
    key = models.CharField(max_length=300)  # the task's ``TaskEvent.key``
    text = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="one_output_per_task")]

    def __str__(self) -> str:
        return f"job {self.job_id} output of {self.key}"


class ResourceSample(models.Model):
    """The job's process tree at one moment (every second while it runs). Byte counters are cumulative
    since the job started; rates are differences of consecutive samples."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="resource_samples")
    seq = models.PositiveIntegerField()
    t = models.FloatField()  # epoch seconds
    cpu_percent = models.FloatField()  # of one core: 200 means two busy cores
    rss_bytes = models.PositiveBigIntegerField()
    processes = models.PositiveIntegerField()
    read_bytes = models.PositiveBigIntegerField()  # storage I/O of the tree (psutil io_counters)
    write_bytes = models.PositiveBigIntegerField()
    # The sandbox shares the host's network namespace (jobs reach S3, Lambda, Dask), so the kernel counts
    # network bytes per host, not per process tree: these are the host's counters over the job's lifetime.
    net_sent_bytes = models.PositiveBigIntegerField()
    net_recv_bytes = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="one_sample_per_seq")]

    def __str__(self) -> str:
        return f"job {self.job_id} sample #{self.seq}"
