"""Celery tasks of jobs (explicit, stable names; they take ids). ``jobs.run`` goes to the default ``celery``
queue, never behind runtime builds."""

from __future__ import annotations

from celery import shared_task

from jobs import runner, services


@shared_task(name="jobs.run", bind=True, ignore_result=True, acks_late=True)
def run(self, job_id: int) -> str:
    """Run a job; a redelivered message (the worker died, the broker's visibility timeout) finds it claimed and
    does nothing."""
    return runner.run_job(job_id, task_id=self.request.id or "", worker=self.request.hostname or "")


@shared_task(name="jobs.dispatch", ignore_result=True)
def dispatch(org_id: int | None = None) -> int:
    """Start waiting jobs within their org's quota (one org, or every org with waiting jobs)."""
    if org_id is None:
        return services.dispatch_all()
    return len(services.dispatch_queued(org_id))


@shared_task(name="jobs.reap", ignore_result=True)
def reap() -> int:
    """Beat: fail jobs whose worker stopped beating, send again run messages the broker lost, then start what
    waits (a lost dispatch trigger heals here)."""
    reaped = services.reap_lost_jobs()
    services.resend_lost_dispatches()
    services.dispatch_all()
    return len(reaped)
