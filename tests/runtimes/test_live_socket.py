"""``/ws/runtimes/{id}/``: a build's state and log lines over a real websocket, resumed from a seq."""

from __future__ import annotations

import asyncio
import contextlib
import json

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from runtimes import events
from runtimes.models import Runtime, RuntimeLogLine
from tests.tenants import TenantTest

TIMEOUT = 10


def url(http_url: str, runtime_id: int, query: str = "") -> str:
    return http_url.replace("http://", "ws://") + f"/ws/runtimes/{runtime_id}/" + (f"?{query}" if query else "")


async def collect(ws, until) -> list[dict]:
    messages: list[dict] = []
    while not until(messages):
        messages += json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["messages"]
    return messages


class TestRuntimeSocket(TenantTest):
    def test_build_log_resumes_after_a_seq_and_follows_live(self, live_server_url):
        runtime = Runtime.objects.create(org=self.t.org, spec_hash="a" * 64, kind="conda", builder="uv",
                                         state=Runtime.State.BUILDING)  # fmt: skip
        RuntimeLogLine.objects.bulk_create(RuntimeLogLine(runtime=runtime, seq=s, text=f"step {s}") for s in (1, 2, 3))

        async def scenario() -> list[dict]:
            headers = {"Authorization": f"Token {self.t.keys['viewer']}"}
            async with connect(url(live_server_url, runtime.pk, "log_after=1"), additional_headers=headers) as ws:
                messages = await collect(ws, lambda m: any(x["type"] == "synced" for x in m))

                def more() -> None:
                    RuntimeLogLine.objects.create(runtime=runtime, seq=4, text="step 4")
                    events.publish_log(runtime.pk, [(4, "step 4")])
                    events.publish_state(runtime.pk, "ready")

                await asyncio.to_thread(more)
                return messages + await collect(ws, lambda m: any(x.get("state") == "ready" for x in m))

        messages = asyncio.run(scenario())
        assert messages[0] == {"type": "runtime.state", "runtime": runtime.pk, "state": "building", "error": None}
        lines = [line["text"] for m in messages if m["type"] == "runtime.log" for line in m["lines"]]
        assert lines == ["step 2", "step 3", "step 4"]

    def test_another_orgs_runtime_is_refused_like_a_missing_one(self, live_server_url):
        runtime = Runtime.objects.create(org=self.t.org, spec_hash="b" * 64, kind="conda", builder="uv")

        async def close_code() -> int:
            headers = {"Authorization": f"Token {self.t.keys['outsider']}"}
            async with connect(url(live_server_url, runtime.pk), additional_headers=headers) as ws:
                with contextlib.suppress(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), TIMEOUT)
                return ws.close_code

        assert asyncio.run(close_code()) == 4404
