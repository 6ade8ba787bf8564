"""Reachability of what the platform depends on: database, Redis, Celery workers and beat; and the sandbox's
walls on this host (bwrap, the network tools, the cgroups), without which no user code runs."""

from __future__ import annotations

import time

from django.db import connection

from pyrun_web import sandbox
from pyrun_web.celery import BEAT_KEY, app
from pyrun_web.infra.redis import redis_client

BEAT_STALE_SECONDS = 60
# A worker ping waits its whole timeout on the broker; the endpoint is public and unthrottled, so one ping
# per process serves every health request for this long.
WORKERS_CACHE_SECONDS = 5.0
_workers_seen: tuple[float, dict] | None = None


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        result = check() or {}
        result.setdefault("ok", True)
    except Exception as exc:  # a health check reports failures, it does not raise them
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _redis() -> None:
    redis_client().ping()


def _workers() -> dict:
    global _workers_seen
    now = time.monotonic()
    if _workers_seen is not None and now - _workers_seen[0] < WORKERS_CACHE_SECONDS:
        return dict(_workers_seen[1])
    replies = app.control.ping(timeout=0.5) or []
    names = sorted(name for reply in replies for name in reply)
    result = {"ok": bool(names), "count": len(names), "names": names}
    _workers_seen = (now, result)
    return dict(result)


def _beat() -> dict:
    last = redis_client().get(BEAT_KEY)
    if last is None:
        return {"ok": False, "last_seen_seconds_ago": None}
    age = time.time() - float(last)
    return {"ok": age < BEAT_STALE_SECONDS, "last_seen_seconds_ago": round(age, 1)}


def platform_health() -> tuple[str, dict]:
    """Return ``(status, checks)``: ``down`` when DB or Redis fail, ``degraded`` when workers, beat or the
    sandbox do (jobs and terminals are refused without the sandbox)."""
    checks = {"database": _timed(_database), "redis": _timed(_redis), "sandbox": _timed(sandbox.status)}
    if checks["redis"]["ok"]:
        checks["workers"] = _timed(_workers)
        checks["beat"] = _timed(_beat)
    else:
        checks["workers"] = checks["beat"] = {"ok": False, "error": "redis unreachable"}
    if not (checks["database"]["ok"] and checks["redis"]["ok"]):
        return "down", checks
    if not (checks["workers"]["ok"] and checks["beat"]["ok"] and checks["sandbox"]["ok"]):
        return "degraded", checks
    return "ok", checks
