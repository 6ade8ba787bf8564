"""The operator dashboard in a real browser: it lists a running job (appearing without a reload, by the page's
own refresh) and the worker running it; a non-staff user is sent to the admin's login instead."""

import pytest

from tests.jobs.conftest import make_workspace, start_run, wait_for_output
from tests.tenants import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Playwright's sync API keeps an asyncio loop on this thread, so Django refuses ORM calls here; the test's own
    # setup (users, a workspace, a run through the test API client) runs nothing concurrently with that loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def log_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_staff_sees_a_running_job_appear_on_the_dashboard(tenants, jobs_worker, live_server_url, page):
    tenants.owner.is_staff = True
    tenants.owner.save()
    log_in(page, live_server_url, "owner@example.com")
    page.goto(f"{live_server_url}/ops/")
    page.wait_for_selector("#ops-health-status")
    assert page.locator("#ops-jobs").inner_text().count("No job is running or queued.") == 1

    workspace = make_workspace(tenants, {"dashboard.py": "import time\nprint('up', flush=True)\ntime.sleep(600)\n"})
    job = start_run(tenants.client("member"), workspace.pk, "dashboard.py")
    wait_for_output(tenants.client("viewer"), job["id"], "up")

    # No reload: the page's own refresh (every 5 s) brings the job in.
    row = page.locator("#ops-jobs tr", has_text=f"#{job['id']}")
    row.wait_for(timeout=20_000)
    assert "dashboard.py" in row.inner_text() and "acme-research" in row.inner_text()
    page.locator(f'#ops-jobs .job-state[data-job="{job["id"]}"]', has_text="running").wait_for(timeout=20_000)
    page.locator("#ops-workers li", has_text=f"job {job['id']}").wait_for(timeout=20_000)
    assert page.locator("#ops-health-status").inner_text() in ("ok", "degraded")  # no beat in tests


def test_a_member_is_sent_to_the_admin_login(tenants, live_server_url, page):
    log_in(page, live_server_url, "member@example.com")
    page.goto(f"{live_server_url}/ops/")
    assert "/admin/login/" in page.url
    assert page.locator("#ops-jobs").count() == 0
