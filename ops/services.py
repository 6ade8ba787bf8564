"""What the operator dashboard and ``manage.py platform_status`` show: one JSON-ready snapshot of the platform.

Every collector is bounded in time so the page never hangs on a sick dependency: Celery is asked with a short
broadcast timeout (and the answer cached for a few seconds, so several open dashboards cost one broadcast),
queue depths are a handful of Redis ``LLEN``, storage is walked at most once a minute, and each collector turns
its own failure into an ``error`` entry instead of raising.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max
from django.urls import reverse
from django.utils import timezone

from jobs.models import ACTIVE_STATES, Job, JobState
from pyrun_web.celery import app
from pyrun_web.health import platform_health
from pyrun_web.infra.object_store import LocalObjectStore, get_object_store
from runtimes.models import Runtime

logger = logging.getLogger(__name__)

INSPECT_TIMEOUT = 1.0  # seconds a Celery broadcast waits for replies; workers answer in milliseconds
WORKERS_CACHE_SECONDS = 5
STORAGE_CACHE_SECONDS = 60
MAX_LISTED = 100  # jobs / builds listed on the page; the counts are exact
FAILURE_WINDOW = timedelta(hours=24)
WORKERS_CACHE_KEY = "ops:workers"
STORAGE_CACHE_KEY = "ops:storage"
# kombu's Redis transport keeps each priority band of a queue in its own list: "<queue>\x06\x16<band>".
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_BANDS = (0, 3, 6, 9)


def _guarded(name: str, collect: Callable[[], Any]) -> Any:
    try:
        return collect()
    except Exception as exc:  # one broken dependency must not take the whole dashboard down
        logger.warning("ops status: %s failed: %s", name, exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


# --- Celery --------------------------------------------------------------------------------------------------


def queue_names() -> list[str]:
    """The queues tasks are routed to (the default one plus every routed one)."""
    names = {app.conf.task_default_queue or "celery"}
    for route in (settings.CELERY_TASK_ROUTES or {}).values():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(names)


def workers(use_cache: bool = True) -> dict[str, Any]:
    """Workers that answered, the queues each consumes and the tasks each is running now."""
    if use_cache:
        cached = cache.get(WORKERS_CACHE_KEY)
        if cached is not None:
            return cached
    started = time.monotonic()
    active = app.control.inspect(timeout=INSPECT_TIMEOUT).active() or {}
    names = sorted(active)
    queues: dict[str, list[str]] = {}
    if names:
        # Addressed to the workers that just answered, with a reply limit: returns as soon as they all have.
        replies = app.control.inspect(timeout=INSPECT_TIMEOUT, destination=names, limit=len(names)).active_queues()
        queues = {name: sorted(q["name"] for q in found) for name, found in (replies or {}).items()}
    now = time.time()
    result = {
        "alive": len(names),
        "workers": [
            {
                "name": name,
                "queues": queues.get(name, []),
                "tasks": [_task(task, now) for task in active[name]],
            }
            for name in names
        ],
        "ms": round((time.monotonic() - started) * 1000),
    }
    cache.set(WORKERS_CACHE_KEY, result, WORKERS_CACHE_SECONDS)
    return result


def _task(task: dict[str, Any], now: float) -> dict[str, Any]:
    args = task.get("args") or []
    found: dict[str, Any] = {"name": task.get("name", "?"), "id": task.get("id", "")}
    if task.get("time_start"):
        found["seconds"] = round(now - task["time_start"], 1)
    # Tasks take ids (see pyrun_web/celery.py): the first argument of a job run or a build names its row.
    if task.get("name") == "jobs.run" and args:
        found["job"] = args[0]
    elif task.get("name") == "runtimes.build" and args:
        found["runtime"] = args[0]
    return found


def queue_depths() -> dict[str, Any]:
    """Messages waiting in each queue (every priority band), read from the broker's Redis lists."""
    with app.connection_for_read() as conn:
        if conn.transport.driver_type != "redis":
            return {"error": f"queue depths need a Redis broker (this one is {conn.transport.driver_type})"}
        client = conn.default_channel.client
        pipe = client.pipeline()
        names = queue_names()
        for name in names:
            for band in KOMBU_PRIORITY_BANDS:
                pipe.llen(f"{name}{KOMBU_PRIORITY_SEPARATOR}{band}" if band else name)
        counts = pipe.execute()
    per_queue = len(KOMBU_PRIORITY_BANDS)
    return {name: sum(counts[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}


# --- Jobs and builds -----------------------------------------------------------------------------------------


def _admin_url(name: str, pk: int) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def active_jobs() -> dict[str, Any]:
    """Running and queued jobs across every org, oldest first (the ones most likely stuck)."""
    jobs = Job.objects.filter(state__in=ACTIVE_STATES)
    counts = dict(jobs.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    rows = jobs.select_related("org", "workspace").order_by("created_at", "id")[:MAX_LISTED]
    return {
        "counts": {state: counts.get(state, 0) for state in ACTIVE_STATES},
        "jobs": [
            {
                "id": job.pk,
                "org": job.org.slug,
                "workspace": job.workspace.name,
                "entrypoint": job.entrypoint,
                "backend": job.backend,
                "state": job.state,
                "worker": job.worker,
                "created_at": job.created_at.isoformat(),
                "seconds": round(job.duration_seconds, 1) if job.duration_seconds is not None else None,
                "url": _admin_url("jobs_job", job.pk),
            }
            for job in rows
        ],
    }


def active_builds() -> dict[str, Any]:
    builds = Runtime.objects.filter(state__in=Runtime.ACTIVE_STATES).select_related("org").order_by("created_at")
    now = timezone.now()
    return {
        "count": builds.count(),
        "builds": [
            {
                "id": runtime.pk,
                "org": runtime.org.slug,
                "state": runtime.state,
                "kind": runtime.kind,
                "builder": runtime.builder,
                "target": runtime.target,
                "spec_hash": runtime.spec_hash[:12],
                "seconds": round((now - runtime.started_at).total_seconds(), 1) if runtime.started_at else None,
                "url": _admin_url("runtimes_runtime", runtime.pk),
            }
            for runtime in builds[:MAX_LISTED]
        ],
    }


def failures(window: timedelta = FAILURE_WINDOW) -> dict[str, Any]:
    """Failed and timed-out jobs and failed builds of the window, grouped by error id (most frequent first)."""
    since = timezone.now() - window
    failed_jobs = (
        Job.objects.filter(state__in=[JobState.FAILED, JobState.TIMED_OUT], finished_at__gte=since)
        .values("error_id")
        .annotate(count=Count("id"), orgs=Count("org", distinct=True), last=Max("finished_at"))
        .order_by("-count", "error_id")
    )
    failed_builds = (
        Runtime.objects.filter(state=Runtime.State.FAILED, finished_at__gte=since)
        .values("error_id")
        .annotate(count=Count("id"), orgs=Count("org", distinct=True), last=Max("finished_at"))
        .order_by("-count", "error_id")
    )
    rows = [{"kind": "job", **row} for row in failed_jobs] + [{"kind": "build", **row} for row in failed_builds]
    for row in rows:
        changelist = "admin:jobs_job_changelist" if row["kind"] == "job" else "admin:runtimes_runtime_changelist"
        row["url"] = f"{reverse(changelist)}?{urlencode({'error_id': row['error_id']})}"
        row["error_id"] = row["error_id"] or "(none)"
        row["fault"] = row["error_id"].split(":")[1] if row["error_id"].count(":") == 2 else ""
        row["last"] = row["last"].isoformat() if row["last"] else None
    rows.sort(key=lambda row: (-row["count"], row["error_id"]))
    return {"hours": int(window.total_seconds() // 3600), "total": sum(row["count"] for row in rows), "errors": rows}


# --- Storage -------------------------------------------------------------------------------------------------


def tree_bytes(root: Path) -> int:
    """Bytes on disk under ``root``, each hard-linked file once (runtimes hard-link their package cache)."""
    total, seen = 0, set()
    stack = [str(root)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while walking (a build finishing, a GC)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif info.st_nlink > 1:
                    if (info.st_dev, info.st_ino) in seen:
                        continue
                    seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total


def storage(use_cache: bool = True) -> dict[str, Any]:
    """Disk use of the storage roots, the database size and the disk's free space; walked at most once a
    minute (a large data dir takes seconds to walk)."""
    if use_cache:
        cached = cache.get(STORAGE_CACHE_KEY)
        if cached is not None:
            return cached
    roots: dict[str, Path | None] = {
        "workspaces": Path(settings.WORKSPACES_ROOT),
        "runtimes": Path(settings.RUNTIMES_ROOT),
    }
    store = get_object_store()
    roots["objects"] = store.root if isinstance(store, LocalObjectStore) else None
    result: dict[str, Any] = {"measured_at": timezone.now().isoformat(), "roots": {}}
    for name, root in roots.items():
        if root is None:
            result["roots"][name] = {"path": settings.PYRUN_OBJECT_STORE_URL, "bytes": None}
        else:
            result["roots"][name] = {"path": str(root), "bytes": tree_bytes(root)}
    result["database_bytes"] = _guarded("database size", database_bytes)
    usage = os.statvfs(settings.DATA_DIR)
    result["disk"] = {"path": str(settings.DATA_DIR), "free_bytes": usage.f_bavail * usage.f_frsize,
                      "total_bytes": usage.f_blocks * usage.f_frsize}  # fmt: skip
    cache.set(STORAGE_CACHE_KEY, result, STORAGE_CACHE_SECONDS)
    return result


def database_bytes() -> int | None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    if connection.vendor == "sqlite":
        return Path(connection.settings_dict["NAME"]).stat().st_size
    return None


# --- Everything ----------------------------------------------------------------------------------------------


def platform_status(use_cache: bool = True) -> dict[str, Any]:
    """The whole snapshot (JSON-ready), as the dashboard's auto-refresh and ``platform_status`` read it."""
    started = time.monotonic()
    health, checks = platform_health()
    status = {
        "generated_at": timezone.now().isoformat(),
        "health": {"status": health, "checks": checks},
        "workers": _guarded("workers", lambda: workers(use_cache)) if checks["redis"]["ok"] else {"error": "no Redis"},
        "queues": _guarded("queues", queue_depths) if checks["redis"]["ok"] else {"error": "no Redis"},
        "jobs": _guarded("jobs", active_jobs),
        "builds": _guarded("builds", active_builds),
        "failures": _guarded("failures", failures),
        "storage": _guarded("storage", lambda: storage(use_cache)),
    }
    status["ms"] = round((time.monotonic() - started) * 1000)
    return status
