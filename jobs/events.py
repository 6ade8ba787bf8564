"""Live job events on the Channels group ``job-{id}``: ``job.state`` on every transition and ``job.log`` with
each batch of new chunks. Consumers resume from a seq through the logs API, so a lost event costs nothing:
publishing never fails a run or a transition."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from monitoring.live import job_group as group_name
from pyrun_web.infra.live import publish

__all__ = ["chunk_dict", "group_name", "publish_log", "publish_state", "state_message"]


def state_message(job: Any) -> dict[str, Any]:
    return {
        "type": "job.state",
        "job": job.pk,
        "state": job.state,
        "exit_code": job.exit_code,
        "error": job.error,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "tasks_total": job.tasks_total,
        "tasks_failed": job.tasks_failed,
        "tasks_lost": job.tasks_lost,
    }


def publish_state(job: Any) -> None:
    message = state_message(job)
    # After commit: a listener that reacts by reading the job must find the new state.
    transaction.on_commit(lambda: publish(group_name(job.pk), message))


def chunk_dict(chunk: Any) -> dict[str, Any]:
    """A chunk as the logs API and the websocket show it (plain JSON types: the channel layer uses msgpack)."""
    return {"seq": chunk.seq, "stream": chunk.stream, "text": chunk.text, "created_at": chunk.created_at.isoformat()}


def publish_log(job_id: int, chunks: Sequence[Any]) -> None:
    if chunks:
        publish(
            group_name(job_id), {"type": "job.log", "job": job_id, "chunks": [chunk_dict(chunk) for chunk in chunks]}
        )
