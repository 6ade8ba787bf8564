"""Live build events on the Channels group ``runtime-{id}``: ``runtime.log`` (numbered lines) and
``runtime.state``. Consumers resume from a seq through the log API, so a lost event costs nothing:
publishing never fails a build or a transition."""

from __future__ import annotations

from pyrun_web.infra.live import publish


def group_name(runtime_id: int) -> str:
    return f"runtime-{runtime_id}"


def publish_log(runtime_id: int, lines: list[tuple[int, str]]) -> None:
    if lines:
        publish(group_name(runtime_id), {"type": "runtime.log", "runtime": runtime_id,
                           "lines": [{"seq": seq, "text": text} for seq, text in lines]})  # fmt: skip


def publish_state(runtime_id: int, state: str, *, phase: str | None = None) -> None:
    message = {"type": "runtime.state", "runtime": runtime_id, "state": state}
    if phase is not None:
        message["phase"] = phase  # the build's step (Runtime.Phase)
    publish(group_name(runtime_id), message)
