"""Celery tasks of runtimes (explicit, stable names; they take ids). Builds go to their own ``builds``
queue so a long build never delays job starts on the default queue."""

from __future__ import annotations

import signal

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_revoked
from django.conf import settings

from pyrun_web.errors import PyrunError
from runtimes import cleanup, director
from runtimes.models import Runtime

# The build enforces settings.PYRUN_BUILD_TIMEOUT_SECONDS itself (its commands stop at the deadline); Celery's
# limits are the backstop for a build stuck outside a command.
SOFT_LIMIT = settings.PYRUN_BUILD_TIMEOUT_SECONDS + 60
HARD_LIMIT = settings.PYRUN_BUILD_TIMEOUT_SECONDS + 120


@shared_task(name="runtimes.build", bind=True, ignore_result=True, soft_time_limit=SOFT_LIMIT, time_limit=HARD_LIMIT)
def build(self, runtime_id: int) -> str:
    return director.run_build(runtime_id, self.request.id, soft_limit=SoftTimeLimitExceeded)


@shared_task(name="runtimes.gc", ignore_result=True)
def gc() -> int:
    """Delete runtimes unused for settings.PYRUN_RUNTIME_GC_DAYS, their files, and orphaned build folders."""
    return cleanup.collect_garbage()


@shared_task(name="runtimes.reap", ignore_result=True)
def reap() -> int:
    """Fail builds whose worker stopped sending heartbeats."""
    return cleanup.reap_lost_builds()


@task_revoked.connect(dispatch_uid="runtimes.build_revoked")
def _build_revoked(sender=None, request=None, terminated: bool = False, signum=None, **kwargs) -> None:
    """``celery control revoke`` works like the cancel API. A revoked queued build would never run: it fails
    now. A running one is flagged; with ``--signal SIGUSR1`` the build stops itself and ends cancelled, with
    any other signal its process is gone, so it is failed here."""
    if getattr(sender, "name", None) != "runtimes.build" or request is None:
        return
    runtime = Runtime.objects.filter(celery_task_id=request.id).first()
    if runtime is None:
        return
    if runtime.request_cancel() and terminated and signum not in (signal.SIGUSR1, "SIGUSR1", "USR1"):
        runtime.mark_failed(PyrunError("runtime:user:cancelled"))
