"""Monitoring of real runs: a real Celery worker runs the job in the sandbox with the agent injected; the task
events, resource samples and the job's websocket are what a user sees."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest
from websockets.asyncio.client import connect

from monitoring.models import ResourceSample, TaskEvent
from tests.jobs.conftest import TERMINAL, make_workspace, start_run, wait_for
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow

SLOW_MAP = """\
import time
import lithops


def nap(x):
    time.sleep(1.5)
    return x


executor = lithops.FunctionExecutor()
print(executor.get_result(executor.map(nap, range(4))))
"""

FAILING_MAP = """\
import lithops


def invert(x):
    return 1 / x


executor = lithops.FunctionExecutor()
executor.get_result(executor.map(invert, [1, 0, 2]))
"""

DASK_THOUSAND = """\
from distributed import Client, LocalCluster


def inc(x):
    return x + 1


with LocalCluster(n_workers=2, threads_per_worker=2, processes=False) as cluster, Client(cluster) as client:
    print(sum(client.gather(client.map(inc, range(1000)))))
"""


def finished_events(job_id: int) -> list[TaskEvent]:
    return list(TaskEvent.objects.filter(job_id=job_id).exclude(status="running").order_by("seq"))


def assert_lanes_never_overlap(events: list[TaskEvent]) -> None:
    by_lane: dict[str, list[tuple[float, float]]] = {}
    for event in events:
        by_lane.setdefault(event.lane, []).append((event.start, event.end))
    for bars in by_lane.values():
        for (_, end), (start, _) in itertools.pairwise(sorted(bars)):
            assert start >= end, bars


class TestMonitoredRuns(TenantTest):
    def test_lithops_template_gives_one_finished_event_per_task_in_lanes_that_never_overlap(self, jobs_worker):
        workspace = make_workspace(self.t, template="lithops")
        job = wait_for(self.api("member"), start_run(self.api("member"), workspace.pk, "example.py")["id"])
        assert job["state"] == "succeeded"
        events = finished_events(job["id"])
        keys = [e.key for e in events]
        assert len(keys) == len(set(keys)) == 10  # example.py maps over range(10)
        assert all(e.framework == "lithops" and e.phase == "task" and e.status == "finished" for e in events)
        assert all(e.start <= e.end for e in events)
        assert_lanes_never_overlap(events)
        assert ResourceSample.objects.filter(job_id=job["id"]).exists()

    def test_a_failing_lithops_task_carries_its_error_text(self, jobs_worker):
        workspace = make_workspace(self.t, {"fail.py": FAILING_MAP}, template="lithops")
        job = wait_for(self.api("member"), start_run(self.api("member"), workspace.pk, "fail.py")["id"])
        assert job["state"] == "failed"
        events = finished_events(job["id"])
        failed = [e for e in events if e.status == "failed"]
        assert len(failed) == 1 and "ZeroDivisionError" in failed[0].error
        assert sum(e.status == "finished" for e in events) == 2
        assert (job["tasks_total"], job["tasks_failed"], job["tasks_lost"]) == (3, 1, 0)

    def test_tasks_stopped_by_cancel_are_lost_not_failed(self, jobs_worker):
        workspace = make_workspace(self.t, {"slow.py": SLOW_MAP.replace("1.5", "60")}, template="lithops")
        client = self.api("member")
        job_id = start_run(client, workspace.pk, "slow.py")["id"]
        deadline = time.monotonic() + 120
        while not TaskEvent.objects.filter(job_id=job_id, status="running").exists():
            assert time.monotonic() < deadline, "no task started"
            time.sleep(0.2)
        assert client.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200
        deadline = time.monotonic() + 60
        while (job := client.get(f"/api/v1/jobs/{job_id}/").json())["tasks_total"] is None:
            assert time.monotonic() < deadline, "the task counts never came"
            time.sleep(0.2)
        assert job["state"] == "cancelled"
        assert job["tasks_failed"] == 0 and job["tasks_lost"] == job["tasks_total"] >= 1
        rows = client.get(f"/api/v1/jobs/{job_id}/tasks/").json()["results"]
        assert rows and {row["status"] for row in rows} == {"lost"}

    def test_a_dask_run_of_a_thousand_tasks_yields_a_thousand_compute_events(self, jobs_worker):
        workspace = make_workspace(self.t, {"many.py": DASK_THOUSAND}, template="dask")
        created = start_run(self.api("member"), workspace.pk, "many.py", backend="dask-local")
        job = wait_for(self.api("member"), created["id"], timeout=180)
        assert job["state"] == "succeeded"
        compute = TaskEvent.objects.filter(job_id=job["id"], framework="dask", phase="compute")
        assert compute.filter(group="inc").count() == 1000
        assert compute.values("key").distinct().count() == compute.count()
        assert_lanes_never_overlap(list(TaskEvent.objects.filter(job_id=job["id"]).exclude(status="running")))

    def test_task_events_arrive_on_the_websocket_while_the_job_runs(self, jobs_worker, live_server_url):
        workspace = make_workspace(self.t, {"slow.py": SLOW_MAP}, template="lithops")
        job_id = start_run(self.api("member"), workspace.pk, "slow.py")["id"]
        url = live_server_url.replace("http://", "ws://") + f"/ws/jobs/{job_id}/"

        async def watch() -> list[dict]:
            messages: list[dict] = []
            headers = {"Authorization": f"Token {self.t.keys['viewer']}"}
            async with connect(url, additional_headers=headers, max_size=None) as ws:
                deadline = time.monotonic() + 120
                while not any(m["type"] == "job.state" and m["state"] in TERMINAL for m in messages):
                    frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                    messages += frame["messages"]
            return messages

        messages = asyncio.run(watch())
        end = next(i for i, m in enumerate(messages) if m["type"] == "job.state" and m["state"] in TERMINAL)
        assert messages[end]["state"] == "succeeded"
        live_before_end = [e for m in messages[:end] if m["type"] == "job.tasks" for e in m["events"]]
        assert any(e["status"] == "running" for e in live_before_end)
        assert {e["key"] for e in live_before_end if e["status"] == "finished"} == {
            e.key for e in finished_events(job_id)
        }
        assert any(m["type"] == "job.samples" for m in messages[:end])
