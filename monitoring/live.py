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


TASK_FIELDS = ("seq", "framework", "group", "key", "phase", "status", "lane", "start", "end", "error", "figures")


def task_dicts_after(job_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    """The job's events after seq ``after`` (at most ``limit``, seqs ascending) as :func:`task_dict` makes them, read
    as tuples: a big job's history is read a page of 5,000 at a time, and a model instance per row made the read
    about twice as slow."""
    rows = TaskEvent.objects.filter(job_id=job_id, seq__gt=after).order_by("seq").values_list(*TASK_FIELDS)[:limit]
    return [dict(zip(TASK_FIELDS, row, strict=True)) for row in rows]


# The string fields of a task event that repeat from event to event: a page of columns names each value once.
_DICTIONARY_FIELDS = ("framework", "group", "phase", "status", "lane")


def task_columns(events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A page of events (as :func:`task_dict` makes them, seqs ascending) as columns, for a client that asked for
    ``tasks_format=columns`` (the Gantt chart catching up on a big job): a browser parses arrays of numbers many
    times faster than as many objects, and merges them without allocating one object per event.

    ``{"n", "seq": [..], "key": [..], "start": [..], "end": [.. | null],
    "<framework|group|phase|status|lane>": {"names": [..], "index": [..]}`` (``index`` left out when there is one
    name), ``"error": [[row, text], ..]`` (rows with an error only), ``"figures": {"names": [..], "values":
    [[.. | null], ..]}`` (a column per figure name, null where a task has no such figure)}``.
    """
    n = len(events)
    columns: dict[str, Any] = {
        "n": n,
        "seq": [e["seq"] for e in events],
        "key": [e["key"] for e in events],
        "start": [e["start"] for e in events],
        "end": [e["end"] for e in events],
    }
    for field in _DICTIONARY_FIELDS:
        ids: dict[str, int] = {}
        index = [ids.setdefault(e[field] or "", len(ids)) for e in events]
        columns[field] = {"names": list(ids), "index": index} if len(ids) > 1 else {"names": list(ids)}
    columns["error"] = [[row, e["error"]] for row, e in enumerate(events) if e["error"]]
    names: dict[str, int] = {}
    for e in events:
        for name in e["figures"] or ():
            names.setdefault(name, len(names))
    values = [[None] * n for _ in names]
    for row, e in enumerate(events):
        for name, value in (e["figures"] or {}).items():
            values[names[name]][row] = value
    columns["figures"] = {"names": list(names), "values": values}
    return columns


def sample_dict(sample: ResourceSample) -> dict[str, Any]:
    return {
        "seq": sample.seq, "t": sample.t, "cpu_percent": sample.cpu_percent, "rss_bytes": sample.rss_bytes,
        "processes": sample.processes, "read_bytes": sample.read_bytes, "write_bytes": sample.write_bytes,
        "net_sent_bytes": sample.net_sent_bytes, "net_recv_bytes": sample.net_recv_bytes,
    }  # fmt: skip


def publish_tasks(job_id: int, encoded_events: bytes, first: int, last: int) -> None:
    """Task events, seqs ``first`` to ``last`` (ascending), as one JSON array of what :func:`task_dict` makes
    (``monitoring.wire.encode_events`` of the ingest's events): encoded once by the writer, see
    :func:`pyrun_web.infra.live.encoded`."""
    publish(job_group(job_id), {"type": "job.tasks", "job": job_id, **encoded(encoded_events, first, last)})


def publish_samples(job_id: int, samples: Sequence[ResourceSample]) -> None:
    if samples:
        publish(job_group(job_id), {"type": "job.samples", "job": job_id, "samples": [sample_dict(s) for s in samples]})
