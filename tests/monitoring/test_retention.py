"""The retention setting: old runs lose their task events and samples, recent and running ones keep them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobState
from monitoring.models import ResourceSample, TaskEvent
from monitoring.tasks import prune
from tests.jobs.conftest import make_workspace


def job_with_record(tenants, workspace, *, finished_days_ago: float | None) -> Job:
    finished = None if finished_days_ago is None else timezone.now() - timedelta(days=finished_days_ago)
    state = JobState.RUNNING if finished is None else JobState.SUCCEEDED
    job = Job.objects.create(org=tenants.org, workspace=workspace, entrypoint="main.py", backend="lithops-localhost",
                             state=state, finished_at=finished)  # fmt: skip
    TaskEvent.objects.bulk_create(
        TaskEvent(job=job, seq=s, framework="lithops", group="g", key=f"g/{s}", phase="task", status="finished",
                  lane="pid 1", start=float(s), end=s + 1.0)
        for s in range(1, 4)
    )  # fmt: skip
    ResourceSample.objects.bulk_create(
        ResourceSample(
            job=job,
            seq=s,
            t=float(s),
            cpu_percent=1.0,
            rss_bytes=1,
            processes=1,
            read_bytes=0,
            write_bytes=0,
            net_sent_bytes=0,
            net_recv_bytes=0,
        )
        for s in range(1, 3)
    )
    return job


@pytest.mark.django_db
def test_only_jobs_that_ended_before_the_retention_period_lose_their_record(tenants, settings):
    workspace = make_workspace(tenants)
    old = job_with_record(tenants, workspace, finished_days_ago=40)
    recent = job_with_record(tenants, workspace, finished_days_ago=5)
    running = job_with_record(tenants, workspace, finished_days_ago=None)

    settings.PYRUN_MONITORING_RETENTION_DAYS = 30
    assert prune() == {"task_events": 3, "samples": 2, "task_outputs": 0, "orphaned_task_events": 0}

    assert not TaskEvent.objects.filter(job=old).exists() and not ResourceSample.objects.filter(job=old).exists()
    assert Job.objects.filter(pk=old.pk).exists()  # the job, its log and totals stay
    for kept in (recent, running):
        assert TaskEvent.objects.filter(job=kept).count() == 3
        assert ResourceSample.objects.filter(job=kept).count() == 2


@pytest.mark.django_db
def test_the_default_keeps_everything(tenants, settings):
    job_with_record(tenants, make_workspace(tenants), finished_days_ago=4000)
    settings.PYRUN_MONITORING_RETENTION_DAYS = 0
    assert prune() == {"task_events": 0, "samples": 0, "task_outputs": 0, "orphaned_task_events": 0}
    assert TaskEvent.objects.count() == 3


@pytest.mark.django_db
def test_events_written_after_their_job_was_deleted_are_pruned(tenants, settings):
    # The ingest of a job deleted while it ran may flush once more: its rows name a job that is gone.
    workspace = make_workspace(tenants)
    kept = job_with_record(tenants, workspace, finished_days_ago=None)
    gone = job_with_record(tenants, workspace, finished_days_ago=None)
    gone_id = gone.pk
    gone.delete()
    TaskEvent.objects.create(job_id=gone_id, seq=9, framework="lithops", group="g", key="g/9", phase="task",
                             status="finished", lane="pid 1", start=1.0, end=2.0)  # fmt: skip
    settings.PYRUN_MONITORING_RETENTION_DAYS = 0

    assert prune()["orphaned_task_events"] == 1
    assert not TaskEvent.objects.filter(job_id=gone_id).exists()
    assert TaskEvent.objects.filter(job=kept).count() == 3
