"""Best-effort publishing of live events to a Channels group.

Live events only spare clients a poll: every event is also in the database, and clients resume from a
sequence number, so publishing never raises. While the channel layer (Redis) is down, the first failure is
logged with its traceback and the rest are counted, then one line says when publishing works again; a worker
streaming many jobs through an outage does not flood its log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

ENCODED_KEYS = frozenset(("encoded", "first", "last"))
SEND_TIMEOUT_S = 10.0

_lock = threading.Lock()
_failures = 0
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """The process's one event loop for publishing from sync code, run by a daemon thread.

    The channel layer keeps its Redis connections per event loop: ``async_to_sync`` made a loop per call, so
    every message opened (and closed) a connection of its own, 3-10 ms of each log flush on a run's start-up
    path. A forked child (Celery's prefork pool) does not inherit the thread: it starts its own loop.
    """
    global _loop
    with _lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


def publish(group: str, message: dict[str, Any]) -> bool:
    """Send ``message`` to ``group``; False (and logged as above) when the layer could not take it."""
    global _failures
    try:
        layer = get_channel_layer()
        if layer is not None:
            sending = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _publisher_loop())
            sending.result(SEND_TIMEOUT_S)
    except Exception:
        with _lock:
            _failures += 1
            first = _failures == 1
        if first:
            logger.warning("live events are not being published (%s to %s)", message.get("type"), group, exc_info=True)
        return False
    if _failures:
        with _lock:
            missed, _failures = _failures, 0
        if missed:
            logger.warning("live events are published again; %d could not be sent meanwhile", missed)
    return True


def encoded(text: bytes, first: int, last: int) -> dict[str, Any]:
    """The part of a live message that carries numbered items (seqs ``first`` to ``last``, ascending) as one JSON
    array ``text``: the channel layer packs one string instead of many dicts, and the websocket consumer sends the
    items under its stream's field exactly as if they had been published as a list (see
    :mod:`pyrun_web.stream_consumer`)."""
    return {"encoded": text, "first": first, "last": last}
