"""A browser that reads slower than a job writes: the job socket drops what would wait too long for one ``dropped``
summary per stream (the seqs skipped, ``live:user:fell-behind``) instead of queueing seconds of events, and the
events around it stay in order, without gaps nor duplicates. Everything is real: the agent socket and
``EventIngest`` (database + channel layer) on one side, uvicorn and a websocket client that stops reading on the
other."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from websockets.asyncio.client import connect

from jobs import events
from jobs.models import Job, JobState, LogChunk
from monitoring.ingest import EventIngest
from pyrun_web.errors import ERRORS
from tests.jobs.conftest import make_workspace
from tests.jobs.test_live_socket import ws_url
from tests.tenants import TenantTest

TIMEOUT = 120
LINES, PER_LINE = 24, 100
ERROR_TEXT = "x" * 4000  # fat events (the longest error kept): a few thousand fill the socket buffers quickly


@pytest.fixture
def job(tenants) -> Job:
    return Job.objects.create(org=tenants.org, workspace=make_workspace(tenants), entrypoint="main.py",
                              backend="lithops-localhost", state=JobState.RUNNING)  # fmt: skip


def line(first: int, count: int) -> bytes:
    now = time.time()
    return (
        json.dumps([
            {"framework": "lithops", "group": "ex/M000", "key": f"ex/M000/{first + i}", "phase": "task",
             "status": "failed", "lane": "pid 1", "start": now, "end": now, "error": ERROR_TEXT,
             "figures": {"n": first + i}}
            for i in range(count)
        ]).encode()
        + b"\n"
    )  # fmt: skip


def send_lines(path: str, lines: list[bytes], pause: float) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        for data in lines:
            sock.sendall(data)
            time.sleep(pause)


class SlowReader:
    """A websocket client on ``/ws/jobs/{id}/`` that reads only when asked: a tiny receive buffer, one frame of
    client-side queue and no compression (the error texts would shrink to nothing). Between two reads it does not
    read the socket, so the server's sends block, as with a browser on a slow link."""

    def __init__(self, live_server_url: str, job_id: int, streams: str, key: str) -> None:
        self.live_server_url, self.job_id, self.streams, self.key = live_server_url, job_id, streams, key
        self.messages: list[dict] = []

    async def __aenter__(self) -> SlowReader:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(self.live_server_url.rsplit(":", 1)[1])))
        url = ws_url(self.live_server_url, self.job_id, f"streams={self.streams}")
        self._connection = connect(url, sock=sock, additional_headers={"Authorization": f"Token {self.key}"},
                                   max_size=None, max_queue=1, compression=None)  # fmt: skip
        self._ws = await self._connection.__aenter__()
        await self.read_until(lambda messages: any(m["type"] == "synced" for m in messages))
        return self

    async def __aexit__(self, *exc) -> None:
        await self._connection.__aexit__(*exc)

    async def read_until(self, done) -> None:
        while not done(self.messages):
            frame = json.loads(await asyncio.wait_for(self._ws.recv(), TIMEOUT))
            self.messages.extend(frame["messages"])


def wait_written(ingest: EventIngest, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while ingest.written < count:
        ingest.check()
        assert time.monotonic() < deadline, f"only {ingest.written} of {count} events were written"
        time.sleep(0.05)


class TestSlowClient(TenantTest):
    def test_a_client_that_stops_reading_gets_a_dropped_summary_then_live_events_in_order(self, live_server_url, job):
        total = LINES * PER_LINE
        ingest = EventIngest(job.pk).start().start_flushing()
        try:

            async def scenario() -> list[dict]:
                async with SlowReader(live_server_url, job.pk, "tasks", self.t.keys["viewer"]) as reader:
                    # Not reading: the job writes for a few seconds, far more than the buffers hold.
                    lines = [line(1 + i * PER_LINE, PER_LINE) for i in range(LINES)]
                    await asyncio.to_thread(send_lines, str(ingest.path), lines, 0.1)
                    await asyncio.to_thread(wait_written, ingest, total)
                    await asyncio.sleep(2)
                    await reader.read_until(lambda messages: covered(messages) >= total)
                    # Reading again: what comes next is live, right after what was skipped or sent.
                    await asyncio.to_thread(send_lines, str(ingest.path), [line(total + 1, 3)], 0)
                    await reader.read_until(lambda messages: covered(messages) >= total + 3)
                    return reader.messages

            messages = asyncio.run(scenario())
        finally:
            ingest.close()

        dropped = [m for m in messages if m["type"] == "dropped"]
        assert dropped, "a client that stopped reading got every event queued for it"
        assert all(m["stream"] == "tasks" and m["count"] == m["last"] - m["first"] + 1 for m in dropped)
        assert dropped[0]["error"] == {
            "id": "live:user:fell-behind",
            "message": ERRORS["live:user:fell-behind"].message.format(count=dropped[0]["count"]),
        }
        # Events and skipped ranges, in the order they came, cover every seq once, ascending.
        seqs: list[int] = []
        for m in messages:
            if m["type"] == "job.tasks":
                seqs += [e["seq"] for e in m["events"]]
            elif m["type"] == "dropped":
                seqs += range(m["first"], m["last"] + 1)
        assert seqs == list(range(1, total + 4))
        last = next(m for m in reversed(messages) if m["type"] == "job.tasks")
        assert [e["figures"]["n"] for e in last["events"]][-3:] == [total + 1, total + 2, total + 3]

    def test_a_client_that_stops_reading_the_log_still_gets_every_chunk(self, live_server_url, job):
        # The CLI follows a run's log and wants every line: the log is never dropped, however late it arrives.
        count, text = 120, "y" * 64_000 + "\n"

        def write_log() -> None:
            for first in range(1, count + 1, 10):
                rows = LogChunk.objects.bulk_create(
                    [LogChunk(job=job, seq=s, stream="stdout", text=text) for s in range(first, first + 10)]
                )
                events.publish_log(job.pk, rows)
                time.sleep(0.1)

        async def scenario() -> list[dict]:
            async with SlowReader(live_server_url, job.pk, "log", self.t.keys["viewer"]) as reader:
                await asyncio.to_thread(write_log)  # 7.7 MB while the client reads nothing
                await asyncio.sleep(2)
                await reader.read_until(
                    lambda messages: sum(len(m.get("chunks", ())) + m.get("count", 0) for m in messages) >= count
                )
                return reader.messages

        messages = asyncio.run(scenario())
        assert not [m for m in messages if m["type"] == "dropped"]
        seqs = [c["seq"] for m in messages if m["type"] == "job.log" for c in m["chunks"]]
        assert seqs == list(range(1, count + 1))


def covered(messages: list[dict]) -> int:
    """How many seqs the messages account for, sent or skipped."""
    n = 0
    for m in messages:
        if m["type"] == "job.tasks":
            n += len(m["events"])
        elif m["type"] == "dropped":
            n += m["count"]
    return n
