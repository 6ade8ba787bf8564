"""``/ws/jobs/{id}/`` over a real websocket (uvicorn, Redis channel layer): who may connect, resuming from a seq
without gaps or duplicates, batching, and cancel by role. Rows and live messages are produced here the way the
runner produces them (written, then published)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from jobs import events
from jobs.models import Job, JobState, LogChunk
from monitoring import live
from monitoring.models import TaskEvent
from monitoring.wire import encode_events
from pyrun_web.stream_consumer import FRAMES_PER_SECOND
from tests.jobs.conftest import make_workspace
from tests.tenants import TenantTest

TIMEOUT = 10


def ws_url(http_url: str, job_id: object, query: str = "") -> str:
    return http_url.replace("http://", "ws://") + f"/ws/jobs/{job_id}/" + (f"?{query}" if query else "")


def add_chunks(job: Job, seqs) -> list[LogChunk]:
    rows = LogChunk.objects.bulk_create([LogChunk(job=job, seq=s, stream="stdout", text=f"line {s}\n") for s in seqs])
    return rows


def add_events(job: Job, seqs) -> list[TaskEvent]:
    return TaskEvent.objects.bulk_create([
        TaskEvent(job=job, seq=s, framework="lithops", group="ex/M000", key=f"ex/M000/{s:05d}", phase="task",
                  status="finished", lane="pid 1", start=float(s), end=s + 0.5)
        for s in seqs
    ])  # fmt: skip


def publish(job: Job, rows) -> None:
    events = [live.task_dict(row) for row in rows]
    live.publish_tasks(job.pk, encode_events(events), events[0]["seq"], events[-1]["seq"])


class Reader:
    """Collects the messages of every frame, and the frames' arrival times."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.messages: list[dict] = []
        self.frame_times: list[float] = []

    async def until(self, predicate, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.messages):
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic())))
            assert frame["type"] == "batch"
            self.frame_times.append(time.monotonic())
            self.messages.extend(frame["messages"])

    def seqs(self, kind: str, field: str) -> list[int]:
        return [item["seq"] for m in self.messages if m["type"] == kind for item in m[field]]

    def has(self, kind: str):
        return lambda messages: any(m["type"] == kind for m in messages)


def rows_of(columns: dict) -> list[dict]:
    """The events of a ``columns`` page (see ``monitoring.live.task_columns``), as ``task_dict`` makes them."""
    n = columns["n"]

    def strings(field: str) -> list[str]:
        names = columns[field]["names"]
        return [names[i] for i in columns[field].get("index", [0] * n)]

    errors = dict(columns["error"])
    figures = columns["figures"]
    return [
        {"seq": columns["seq"][row], "framework": strings("framework")[row], "group": strings("group")[row],
         "key": columns["key"][row], "phase": strings("phase")[row], "status": strings("status")[row],
         "lane": strings("lane")[row], "start": columns["start"][row], "end": columns["end"][row],
         "error": errors.get(row, ""),
         "figures": {name: values[row] for name, values in zip(figures["names"], figures["values"], strict=True)
                     if values[row] is not None}}
        for row in range(n)
    ]  # fmt: skip


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def job(tenants) -> Job:
    workspace = make_workspace(tenants)
    return Job.objects.create(org=tenants.org, workspace=workspace, entrypoint="main.py", backend="lithops-localhost",
                              state=JobState.RUNNING)  # fmt: skip


class TestJobSocket(TenantTest):
    def headers(self, name: str) -> dict:
        return {"Authorization": f"Token {self.t.keys[name]}"}

    def test_resumes_after_the_given_seqs_then_follows_live_without_duplicates_or_gaps(self, live_server_url, job):
        add_chunks(job, range(1, 6))
        add_events(job, range(1, 4))

        async def scenario() -> Reader:
            url = ws_url(live_server_url, job.pk, "log_after=2&tasks_after=1")
            async with connect(url, additional_headers=self.headers("viewer"), max_size=None) as ws:
                reader = Reader(ws)
                await reader.until(reader.has("synced"))
                assert reader.messages[0]["type"] == "job.state" and reader.messages[0]["state"] == "running"
                # Live: 4-5 as published; 5 again (a duplicate); then 8 published while 6-7 were not (a gap).
                await asyncio.to_thread(lambda: publish(job, add_events(job, [4, 5])))
                await asyncio.to_thread(lambda: publish(job, TaskEvent.objects.filter(job=job, seq=5)))
                await asyncio.to_thread(lambda: add_events(job, [6, 7]))
                await asyncio.to_thread(lambda: publish(job, add_events(job, [8])))
                await asyncio.to_thread(lambda: events.publish_log(job.pk, add_chunks(job, [6])))
                await reader.until(
                    lambda m: 8 in reader.seqs("job.tasks", "events") and 6 in reader.seqs("job.log", "chunks")
                )
                return reader

        reader = run(scenario())
        assert reader.seqs("job.log", "chunks") == [3, 4, 5, 6]
        assert reader.seqs("job.tasks", "events") == [2, 3, 4, 5, 6, 7, 8]
        synced = next(m for m in reader.messages if m["type"] == "synced")
        assert synced["cursors"] == {"log": 5, "tasks": 3, "samples": 0}

    def test_a_live_batch_overlapping_what_was_sent_gives_only_the_new_events_whole(self, live_server_url, job):
        add_events(job, range(1, 4))

        async def scenario() -> Reader:
            url = ws_url(live_server_url, job.pk, "tasks_after=3&streams=tasks")
            async with connect(url, additional_headers=self.headers("viewer"), max_size=None) as ws:
                reader = Reader(ws)
                await reader.until(reader.has("synced"))
                add = await asyncio.to_thread(lambda: add_events(job, [4, 5]))
                await asyncio.to_thread(lambda: publish(job, TaskEvent.objects.filter(job=job).order_by("seq")))
                await asyncio.to_thread(lambda: publish(job, add[1:]))
                await reader.until(lambda m: 5 in reader.seqs("job.tasks", "events"))
                return reader

        reader = run(scenario())
        assert reader.seqs("job.tasks", "events") == [4, 5]
        sent = [e for m in reader.messages if m["type"] == "job.tasks" for e in m["events"]]
        assert sent == [live.task_dict(row) for row in TaskEvent.objects.filter(job=job, seq__gt=3).order_by("seq")]

    def test_a_client_asking_for_columns_gets_the_history_as_columns_then_live_events(self, live_server_url, job):
        TaskEvent.objects.bulk_create([
            TaskEvent(job=job, seq=1, framework="lithops", group="ex/M000", key="ex/M000/00000", phase="task",
                      status="running", lane="pid 1", start=1.0, end=None),
            TaskEvent(job=job, seq=2, framework="lithops", group="ex/M000", key="ex/M000/00000", phase="task",
                      status="failed", lane="pid 1", start=1.0, end=2.5, error="ValueError: boom",
                      figures={"worker_cold_start": True}),
            TaskEvent(job=job, seq=3, framework="dask", group="inc", key="inc-1", phase="compute",
                      status="finished", lane="", start=2.0, end=3.0, figures={"nbytes": 28}),
        ])  # fmt: skip

        async def scenario() -> Reader:
            url = ws_url(live_server_url, job.pk, "streams=tasks&tasks_format=columns")
            async with connect(url, additional_headers=self.headers("viewer"), max_size=None) as ws:
                reader = Reader(ws)
                await reader.until(reader.has("synced"))
                await asyncio.to_thread(lambda: publish(job, add_events(job, [4])))
                await reader.until(lambda m: any(e["seq"] == 4 for x in m for e in x.get("events", ())))
                return reader

        reader = run(scenario())
        pages = [m for m in reader.messages if m["type"] == "job.tasks"]
        history = [live.task_dict(row) for row in TaskEvent.objects.filter(job=job, seq__lte=3).order_by("seq")]
        assert "events" not in pages[0]
        assert rows_of(pages[0]["columns"]) == history
        # Live events come as they always did, after the history.
        assert [e["seq"] for m in pages[1:] for e in m["events"]] == [4]

    def test_streams_limits_what_is_sent(self, live_server_url, job):
        add_chunks(job, range(1, 3))
        add_events(job, range(1, 3))

        async def scenario() -> Reader:
            url = ws_url(live_server_url, job.pk, "streams=log")
            async with connect(url, additional_headers=self.headers("member"), max_size=None) as ws:
                reader = Reader(ws)
                await reader.until(reader.has("synced"))
                # Live messages of a stream not chosen reach the consumer too (one group): it ignores them.
                await asyncio.to_thread(lambda: publish(job, add_events(job, [3])))
                await asyncio.to_thread(lambda: events.publish_log(job.pk, add_chunks(job, [3])))
                await reader.until(lambda m: 3 in reader.seqs("job.log", "chunks"))
                return reader

        reader = run(scenario())
        assert reader.seqs("job.log", "chunks") == [1, 2, 3]
        assert reader.seqs("job.tasks", "events") == []

    def test_many_live_messages_arrive_in_at_most_ten_frames_a_second(self, live_server_url, job):
        async def scenario() -> tuple[Reader, int, float]:
            async with connect(ws_url(live_server_url, job.pk), additional_headers=self.headers("member"),
                               max_size=None) as ws:  # fmt: skip
                reader = Reader(ws)
                await reader.until(reader.has("synced"))
                frames_before = len(reader.frame_times)

                def publish_many() -> None:
                    for seq in range(1, 301):
                        publish(job, add_events(job, [seq]))

                started = time.monotonic()
                publishing = asyncio.create_task(asyncio.to_thread(publish_many))
                await reader.until(lambda m: 300 in reader.seqs("job.tasks", "events"))
                await publishing
                return reader, len(reader.frame_times) - frames_before, time.monotonic() - started

        reader, frames, seconds = run(scenario())
        assert reader.seqs("job.tasks", "events") == list(range(1, 301))
        # 300 messages, but never more than FRAMES_PER_SECOND frames in any second the stream lasted (a slow
        # machine only stretches the span, so this cannot fail on timing).
        assert frames <= FRAMES_PER_SECOND * seconds + 1, (frames, seconds)

    def test_another_orgs_job_is_refused_like_a_missing_one(self, live_server_url, job):
        async def close_code(name: str, job_id: object) -> int:
            async with connect(ws_url(live_server_url, job_id), additional_headers=self.headers(name)) as ws:
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), TIMEOUT)
                return ws.close_code

        assert run(close_code("outsider", job.pk)) == 4404
        assert run(close_code("member", 999_999)) == 4404
        assert run(close_code("member", "not-a-number")) == 4404

    def test_without_credentials_the_socket_is_closed_4401(self, live_server_url, job):
        async def close_code() -> int:
            async with connect(ws_url(live_server_url, job.pk)) as ws:
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), TIMEOUT)
                return ws.close_code

        assert run(close_code()) == 4401

    def test_a_viewer_watches_but_cannot_cancel_and_a_member_can(self, live_server_url, job):
        async def cancel_as(name: str) -> Reader:
            async with connect(ws_url(live_server_url, job.pk), additional_headers=self.headers(name)) as ws:
                reader = Reader(ws)
                await reader.until(reader.has("synced"))
                await ws.send(json.dumps({"type": "cancel"}))
                await reader.until(lambda m: any(x["type"] == "error" or x.get("state") == "cancelled" for x in m))
                return reader

        viewer = run(cancel_as("viewer"))
        error = next(m for m in viewer.messages if m["type"] == "error")
        assert error["error"]["id"] == "auth:user:role-required"
        job.refresh_from_db()
        assert job.state == JobState.RUNNING

        member = run(cancel_as("member"))
        assert [m["state"] for m in member.messages if m["type"] == "job.state"][-1] == "cancelled"
        job.refresh_from_db()
        assert job.state == JobState.CANCELLED
