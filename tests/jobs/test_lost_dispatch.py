"""A ``jobs.run`` message the broker lost (sent while Redis restarted, or gone with a Redis that keeps nothing):
the beat sends it again and the job runs; a message the broker still holds is left alone."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import broker, services
from jobs.models import Job, JobState
from jobs.tasks import reap
from pyrun_web.celery import app
from tests.jobs.conftest import logs_text, make_workspace, wait_for
from tests.tenants import TenantTest


def dispatched_long_ago(t, workspace, settings) -> Job:
    """A job as the dispatcher leaves it (marked dispatched, with its task id) whose message never arrived."""
    job = Job.objects.create(org=t.org, workspace=workspace, created_by=t.member, entrypoint="main.py",
                             backend="lithops-localhost")  # fmt: skip
    assert job.mark_dispatched(str(uuid.uuid4()))
    long_ago = timezone.now() - timedelta(seconds=settings.PYRUN_JOB_RESEND_AFTER_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(dispatched_at=long_ago)
    job.refresh_from_db()
    return job


@pytest.fixture
def run_queue(settings):
    """The queue ``jobs.run`` goes to; this test's messages are taken out of it afterwards. (No worker reads it
    meanwhile: only tests that ask for one start a worker.)"""
    queue = settings.CELERY_TASK_ROUTES["jobs.run"]["queue"]
    sent: list[str] = []
    yield queue, sent
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        for raw in client.lrange(queue, 0, -1):
            if any(task_id in raw.decode() for task_id in sent):
                client.lrem(queue, 1, raw)


class TestLostDispatch(TenantTest):
    @pytest.mark.slow
    def test_the_beat_sends_a_lost_run_message_again_and_the_job_runs(self, jobs_worker, settings):
        workspace = make_workspace(self.t, {"main.py": "print('ran after all')\n"})
        job = dispatched_long_ago(self.t, workspace, settings)

        reap()

        body = wait_for(self.api("viewer"), job.pk)
        assert body["state"] == "succeeded"
        assert "ran after all" in logs_text(self.api("viewer"), job.pk)
        assert Job.objects.get(pk=job.pk).celery_task_id == job.celery_task_id

    def test_a_message_the_broker_still_holds_is_not_sent_again(self, settings, run_queue):
        queue, sent = run_queue
        job = dispatched_long_ago(self.t, make_workspace(self.t), settings)
        sent.append(job.celery_task_id)
        services.send_run(job.pk, job.celery_task_id)  # waiting in the queue, as behind a long backlog

        assert job.celery_task_id in broker.message_ids(queue)
        assert services.resend_lost_dispatches() == []
        job_now = Job.objects.get(pk=job.pk)
        assert (job_now.state, job_now.dispatched_at) == (JobState.QUEUED, job.dispatched_at)

    def test_a_recent_dispatch_is_given_time_to_arrive(self, settings):
        job = dispatched_long_ago(self.t, make_workspace(self.t), settings)
        Job.objects.filter(pk=job.pk).update(dispatched_at=timezone.now())

        assert services.resend_lost_dispatches() == []
        assert Job.objects.get(pk=job.pk).state == JobState.QUEUED
