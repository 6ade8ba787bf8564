"""Celery tasks of monitoring (explicit, stable names)."""

from __future__ import annotations

from celery import shared_task

from monitoring import retention


@shared_task(name="monitoring.prune", ignore_result=True)
def prune() -> dict[str, int]:
    """Beat, daily: delete the task events and samples of jobs older than the retention setting, and the task
    events whose job is gone."""
    return retention.prune()
