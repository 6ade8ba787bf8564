import pytest
from django.test import Client

from pyrun_web import health


@pytest.fixture(autouse=True)
def _fresh_worker_check(monkeypatch):
    monkeypatch.setattr(health, "_workers_seen", None)


@pytest.mark.django_db(transaction=True)
def test_repeated_health_calls_ping_the_workers_once_per_period(monkeypatch):
    pings = []
    monkeypatch.setattr(health.app.control, "ping", lambda timeout: pings.append(timeout) or [])
    for _ in range(5):
        assert Client().get("/api/v1/health/").json()["checks"]["workers"]["ok"] is False
    assert len(pings) == 1


@pytest.mark.django_db(transaction=True)
def test_health_reports_degraded_without_a_worker():
    response = Client().get("/api/v1/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["workers"]["ok"] is False
    assert body["status"] == "degraded"


def test_health_is_ok_with_a_real_worker_and_a_beat_tick(celery_worker):
    from pyrun_web.celery import heartbeat

    # What beat does every 15 s: queue the heartbeat; the real worker runs it.
    heartbeat.delay()
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = Client().get("/api/v1/health/").json()
        if body["status"] == "ok":
            break
        time.sleep(0.5)
    assert body["status"] == "ok", body
    assert body["checks"]["workers"]["count"] >= 1


@pytest.mark.django_db(transaction=True)
def test_health_shows_the_sandboxs_walls_and_degrades_without_bwrap(monkeypatch):
    from pyrun_web import sandbox

    if sandbox.bwrap_executable() is None:
        pytest.skip("bwrap (Debian bubblewrap) not installed")
    walls = Client().get("/api/v1/health/").json()["checks"]["sandbox"]
    assert walls["ok"] is True and walls["bwrap"] is True and walls["seccomp"] is True
    assert walls["network"]["mode"] == "filtered" and walls["cgroups"]["pids"] in ("v1", "v2")

    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    monkeypatch.setattr(health.app.control, "ping", lambda timeout: [{"w@host": {"ok": "pong"}}])
    body = Client().get("/api/v1/health/").json()
    assert body["checks"]["sandbox"]["ok"] is False and body["status"] == "degraded"
