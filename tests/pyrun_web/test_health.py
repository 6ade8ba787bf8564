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
