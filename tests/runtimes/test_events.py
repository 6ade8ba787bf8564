"""A build publishes its state changes and numbered log lines on the Channels group runtime-{id}."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from runtimes import director, services
from runtimes.events import group_name
from runtimes.models import Runtime
from runtimes.spec import parse_environment
from tests.runtimes.conftest import SIX
from tests.tenants import TenantTest


async def _drain(layer, channel: str) -> list[dict]:
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), timeout=1.0))
        except TimeoutError:
            return messages


@pytest.mark.slow
class TestBuildEvents(TenantTest):
    def test_state_and_log_lines_reach_the_group(self, sent_builds, transactional_db):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        layer = get_channel_layer()
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group_name(runtime.pk), channel)
        assert director.run_build(*sent_builds[0]) == Runtime.State.READY
        messages = async_to_sync(_drain)(layer, channel)
        states = [m["state"] for m in messages if m["type"] == "runtime.state" and "phase" not in m]
        assert states == ["building", "ready"]
        # The build's steps, as the uv builder starts each one (the step indicator follows them).
        phases = [m["phase"] for m in messages if m["type"] == "runtime.state" and "phase" in m]
        assert phases == ["", "resolve", "install", "compile", "done"]
        seqs = [line["seq"] for m in messages if m["type"] == "runtime.log" for line in m["lines"]]
        assert seqs == list(runtime.log_lines.values_list("seq", flat=True))
