import pytest
from django.test import Client
from rest_framework.test import APIClient

from pyrun_web import health
from pyrun_web.tenancy.models import ApiToken, User


@pytest.fixture(autouse=True)
def _fresh_worker_check(monkeypatch):
    monkeypatch.setattr(health, "_workers_seen", None)


def staff_client() -> Client:
    """The checks' details (host names, error text, the sandbox) are for staff only."""
    staff, _ = User.objects.get_or_create(email="ops@example.com", defaults={"is_staff": True})
    client = Client()
    client.force_login(staff)
    return client


@pytest.mark.django_db(transaction=True)
def test_anonymous_and_non_staff_callers_get_only_the_status(tenants, monkeypatch):
    monkeypatch.setattr(health.app.control, "ping", lambda timeout: [{"celery@secret-host-7": {"ok": "pong"}}])
    anonymous = Client().get("/api/v1/health/")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": anonymous.json()["status"]}
    assert anonymous.json()["status"] in ("ok", "degraded")
    assert b"secret-host" not in anonymous.content
    for client in (tenants.client("owner"), tenants.session_client("owner")):
        body = client.get("/api/v1/health/").json()
        assert list(body) == ["status"]
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token pyr_00000000_wrong")
    response = bad_token.get("/api/v1/health/")
    assert response.status_code == 200 and list(response.json()) == ["status"]


@pytest.mark.django_db(transaction=True)
def test_staff_see_the_checks_by_session_or_by_token(tenants, monkeypatch):
    monkeypatch.setattr(health.app.control, "ping", lambda timeout: [{"celery@secret-host-7": {"ok": "pong"}}])
    assert staff_client().get("/api/v1/health/").json()["checks"]["workers"]["names"] == ["celery@secret-host-7"]
    tenants.owner.is_staff = True
    tenants.owner.save(update_fields=["is_staff"])
    _, key = ApiToken.issue(user=tenants.owner, org=tenants.org, name="ops")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/health/").json()["checks"]["database"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_repeated_health_calls_ping_the_workers_once_per_period(monkeypatch):
    pings = []
    monkeypatch.setattr(health.app.control, "ping", lambda timeout: pings.append(timeout) or [])
    for _ in range(5):
        assert staff_client().get("/api/v1/health/").json()["checks"]["workers"]["ok"] is False
    assert len(pings) == 1


@pytest.mark.django_db(transaction=True)
def test_health_reports_degraded_without_a_worker():
    response = staff_client().get("/api/v1/health/")
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
        body = staff_client().get("/api/v1/health/").json()
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
    walls = staff_client().get("/api/v1/health/").json()["checks"]["sandbox"]
    assert walls["ok"] is True and walls["bwrap"] is True and walls["seccomp"] is True
    assert walls["network"]["mode"] == "filtered" and walls["cgroups"]["pids"] in ("v1", "v2")

    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    monkeypatch.setattr(health.app.control, "ping", lambda timeout: [{"w@host": {"ok": "pong"}}])
    body = staff_client().get("/api/v1/health/").json()
    assert body["checks"]["sandbox"]["ok"] is False and body["status"] == "degraded"
