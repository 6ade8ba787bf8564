"""Live build events on the Channels group ``runtime-{id}``: ``runtime.log`` (numbered lines) and
``runtime.state``. Consumers resume from a seq through the log API, so a lost event costs nothing:
publishing never fails a build or a transition."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_name(runtime_id: int) -> str:
    return f"runtime-{runtime_id}"


def _send(runtime_id: int, message: dict) -> None:
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group_name(runtime_id), message)
    except Exception:  # Redis down or the layer misconfigured: the database still has everything
        logger.warning("could not publish %s for runtime %s", message["type"], runtime_id, exc_info=True)


def publish_log(runtime_id: int, lines: list[tuple[int, str]]) -> None:
    if lines:
        _send(runtime_id, {"type": "runtime.log", "runtime": runtime_id,
                           "lines": [{"seq": seq, "text": text} for seq, text in lines]})  # fmt: skip


def publish_state(runtime_id: int, state: str) -> None:
    _send(runtime_id, {"type": "runtime.state", "runtime": runtime_id, "state": state})
