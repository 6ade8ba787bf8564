"""A cap on the task events one job keeps: past PYRUN_MAX_TASK_EVENTS_PER_JOB, events are counted, neither stored
nor published; the count is on the job (and its API), and the job's log gets one line."""

from __future__ import annotations

import orjson
import pytest

from jobs.models import Job
from monitoring import live
from monitoring.ingest import EventIngest
from monitoring.models import TaskEvent
from tests.jobs.conftest import make_workspace
from tests.monitoring.test_ingest import event, line, send, wait_until
from tests.tenants import TenantTest

CAP = 100


@pytest.fixture
def published(monkeypatch) -> list[dict]:
    sent: list[dict] = []
    # The channel layer's door: what the job's group would receive.
    monkeypatch.setattr(live, "publish", lambda group, message: sent.extend(orjson.loads(message["encoded"])))
    return sent


@pytest.fixture(autouse=True)
def _small_cap(settings):
    settings.PYRUN_MAX_TASK_EVENTS_PER_JOB = CAP


class TestEventCap(TenantTest):
    @pytest.mark.django_db(transaction=True)  # the flusher thread writes with a connection of its own
    def test_events_past_the_cap_are_counted_not_stored_nor_published(self, job, published):
        ingest = EventIngest(job.pk).start().start_flushing()
        notices = []
        try:
            for batch in range(3):  # 180 events in three lines, flushed as they come
                send(ingest.path, line(*(event(f"k{batch}-{i}", 1.0 + i, 2.0 + i, lane="pid 1") for i in range(60))))
                wait_until(lambda n=60 * (batch + 1): ingest.accepted + ingest.over_cap == n)
                notices += ingest.take_notices()
        finally:
            ingest.close()
        notices += ingest.take_notices()

        assert list(TaskEvent.objects.filter(job=job).values_list("seq", flat=True)) == list(range(1, CAP + 1))
        assert [e["seq"] for e in published] == list(range(1, CAP + 1))
        assert ingest.over_cap == 80
        job.refresh_from_db()
        assert job.task_events_dropped == 80
        assert len(notices) == 1 and f"limit of {CAP} task events" in notices[0]

    def test_the_count_adds_up_over_ingests_and_shows_in_the_job_api(self, job):
        for _ in range(2):
            ingest = EventIngest(job.pk).start()
            send(ingest.path, line(*(event(f"k{i}", 1.0, 2.0, lane="pid 1") for i in range(70))))
            ingest.close()
        assert TaskEvent.objects.filter(job=job).count() == CAP
        body = self.api("member").get(f"/api/v1/jobs/{job.pk}/").json()
        assert body["task_events_dropped"] == 40
        schema = self.api("member").get("/api/v1/schema/", {"format": "json"}).json()
        assert schema["components"]["schemas"]["Job"]["properties"]["task_events_dropped"]["readOnly"] is True

    def test_a_task_whose_end_was_dropped_does_not_run_on_forever(self, job, settings):
        settings.PYRUN_MAX_TASK_EVENTS_PER_JOB = 2
        ingest = EventIngest(job.pk).start()
        send(
            ingest.path,
            line(event("a", 1.0, None, status="running", lane="pid 1"), event("b", 1.0, None, "running", "pid 2")),
            line(event("a", 1.0, 2.0, lane="pid 1")),  # past the cap
        )
        ingest.close()
        ends = {e.key: e for e in TaskEvent.objects.filter(job=job).exclude(status="running")}
        assert set(ends) == {"a", "b"}
        # Lost, not failed: whether it raised is unknown.
        assert all(e.status == "lost" and "limit of 2 task events" in e.error for e in ends.values())


@pytest.fixture
def job(tenants) -> Job:
    workspace = make_workspace(tenants)
    return Job.objects.create(org=tenants.org, workspace=workspace, entrypoint="main.py", backend="lithops-localhost")
