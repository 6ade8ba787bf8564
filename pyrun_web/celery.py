"""The Celery app. Tasks have explicit, stable names and take ids, never model instances."""

from __future__ import annotations

import os
import time

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyrun_web.settings")

app = Celery("pyrun_web")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BEAT_KEY = "pyrun:beat:last"


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_tokens(logger=None, **kwargs) -> None:
    """Celery replaces the root handlers of a worker or beat: put the key-redacting filter on its own."""
    from pyrun_web import redaction

    redaction.install(*([logger] if logger is not None else []))


@app.task(name="pyrun_web.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Scheduled by beat and run by a worker: its timestamp in Redis proves both are alive."""
    from pyrun_web.infra.redis import redis_client

    redis_client().set(BEAT_KEY, f"{time.time():.3f}", ex=3600)
