"""The Celery app. Tasks have explicit, stable names and take ids, never model instances."""

from __future__ import annotations

import os
import time

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyrun_web.settings")

app = Celery("pyrun_web")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BEAT_KEY = "pyrun:beat:last"


@app.task(name="pyrun_web.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Scheduled by beat and run by a worker: its timestamp in Redis proves both are alive."""
    from pyrun_web.redis import redis_client

    redis_client().set(BEAT_KEY, f"{time.time():.3f}", ex=3600)
