"""``/ws/runtimes/{id}/``: a runtime build live. On connect the runtime's state, then its build log lines after
``?log_after=SEQ``, then ``synced`` and live ``runtime.state`` / ``runtime.log`` messages (see
:mod:`pyrun_web.stream_consumer`)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from pyrun_web.stream_consumer import Stream, StreamConsumer
from pyrun_web.tenancy.models import Role
from runtimes.models import Runtime, RuntimeLogLine


def _log_after(runtime_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    rows = RuntimeLogLine.objects.filter(runtime_id=runtime_id, seq__gt=after).order_by("seq")[:limit]
    return [{"seq": seq, "text": text} for seq, text in rows.values_list("seq", "text")]


class RuntimeConsumer(StreamConsumer):
    required_role = Role.VIEWER
    group_prefix = "runtime"
    streams = (Stream("log", "runtime.log", "lines", _log_after),)
    passthrough_types = ("runtime.state",)

    def get_queryset(self, user):
        return Runtime.objects.for_user(user)

    async def snapshot(self) -> list[dict[str, Any]]:
        runtime = await database_sync_to_async(Runtime.objects.get)(pk=self.object.pk)
        return [{"type": "runtime.state", "runtime": runtime.pk, "state": runtime.state, "error": runtime.error}]
