"""What the Celery broker holds: the ids of ``jobs.run`` messages waiting in a queue or delivered to a worker
and not yet acknowledged.

A dispatched job stays ``queued`` until a worker claims it. If its message never reached Redis (the send failed
while Redis restarted) or was lost with a Redis that keeps nothing on disk, nothing would ever claim the job.
Kombu's Redis transport keeps waiting messages in a list per queue (one per priority step) and delivered,
unacknowledged ones in the ``unacked`` hash, so a task id found in neither is surely lost and may be sent
again; a redelivery of one that was not is harmless anyway, since a job is claimed at most once.
"""

from __future__ import annotations

import json
import logging

from celery import current_app

logger = logging.getLogger(__name__)

MAX_SCANNED = 20_000  # beyond this many messages the broker is backlogged, not lossy: don't scan, don't resend


def message_ids(queue: str) -> set[str] | None:
    """Task ids of the messages in ``queue`` or unacknowledged; None when that cannot be known (not a Redis
    broker, the broker unreachable, too many messages to scan)."""
    try:
        with current_app.connection_for_read() as connection:
            channel = connection.default_channel
            if not hasattr(channel, "unacked_key"):  # not kombu's Redis transport
                return None
            client = channel.client
            keys = {channel._q_for_pri(queue, step) for step in channel.priority_steps}
            sizes = {key: client.llen(key) for key in keys}
            unacked = client.hlen(channel.unacked_key)
            if sum(sizes.values()) + unacked > MAX_SCANNED:
                return None
            ids: set[str] = set()
            for key, size in sizes.items():
                if size:
                    ids.update(_task_id(raw) for raw in client.lrange(key, 0, -1))
            if unacked:
                ids.update(_task_id(raw, delivered=True) for raw in client.hvals(channel.unacked_key))
    except Exception:  # the broker down: the next beat tries again
        logger.warning("could not read the broker's queue %s", queue, exc_info=True)
        return None
    ids.discard("")
    return ids


def _task_id(raw: bytes, *, delivered: bool = False) -> str:
    try:
        message = json.loads(raw)
        if delivered:  # [message, exchange, routing key]
            message = message[0]
        return str(message["headers"]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
