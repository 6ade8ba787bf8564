"""Live monitoring messages on a job's Channels group: ``job.tasks`` (task events) and ``job.samples``.

Like the log, every message is also in the database with its seq, so publishing is best-effort and a client that
missed one catches up from the database (see ``jobs.consumers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitoring.models import ResourceSample, TaskEvent
from pyrun_web.infra.live import encoded, publish


def job_group(job_id: int) -> str:
    return f"job-{job_id}"


def task_dict(event: TaskEvent) -> dict[str, Any]:
    """An event as the websocket and the tasks API show it (plain JSON types: the channel layer uses msgpack)."""
    return {
        "seq": event.seq, "framework": event.framework, "group": event.group, "key": event.key,
        "phase": event.phase, "status": event.status, "lane": event.lane, "start": event.start, "end": event.end,
        "error": event.error, "figures": event.figures,
    }  # fmt: skip


def sample_dict(sample: ResourceSample) -> dict[str, Any]:
    return {
        "seq": sample.seq, "t": sample.t, "cpu_percent": sample.cpu_percent, "rss_bytes": sample.rss_bytes,
        "processes": sample.processes, "read_bytes": sample.read_bytes, "write_bytes": sample.write_bytes,
        "net_sent_bytes": sample.net_sent_bytes, "net_recv_bytes": sample.net_recv_bytes,
    }  # fmt: skip


def publish_tasks(job_id: int, events: Sequence[dict[str, Any]]) -> None:
    """``events`` as :func:`task_dict` makes them, seqs ascending; sent pre-encoded, see
    :func:`pyrun_web.infra.live.encoded`."""
    if events:
        publish(job_group(job_id), {"type": "job.tasks", "job": job_id, **encoded(list(events))})


def publish_samples(job_id: int, samples: Sequence[ResourceSample]) -> None:
    if samples:
        publish(job_group(job_id), {"type": "job.samples", "job": job_id, "samples": [sample_dict(s) for s in samples]})
