"""A run's status is honest, in Debian's Chromium against the real server and a real Celery worker: a run whose
script succeeded while some of its tasks failed says how many in a warning badge (toolbar and Runs table, with task
counts, exit code and filters), tasks stopped by Cancel are "lost" (not "failed"), and the Entrypoint menu and the
Run request agree after the chosen file is deleted, while the chosen Backend survives a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import test_ide_panels as panels
from tests.e2e.test_ide_panels import api_client, in_thread, open_ide, put_file, run_state
from workspaces.services import create_workspace

# That module's fixtures, shared rather than copied (see share_fixtures).
panels.share_fixtures(globals())

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Six tasks, two raise; the script reads the results without raising, so it exits 0 and the run "succeeded".
SOME_FAIL = """\
import lithops


def check(x):
    if x in (2, 4):
        raise ValueError(f"bad input {x}")
    return x


executor = lithops.FunctionExecutor()
futures = executor.map(check, range(6))
executor.wait(futures, throw_except=False)
print("all calls ended")
"""

# Two tasks that sleep far longer than the test: Cancel stops them.
SLEEPERS = """\
import time
import lithops


def nap(x):
    time.sleep(600)
    return x


executor = lithops.FunctionExecutor()
executor.get_result(executor.map(nap, range(2)))
"""


def panel_tab(page, name: str):
    return page.get_by_role("tablist", name="Panels").get_by_role("tab", name=re.compile(f"^{name}"))


def test_a_run_with_failed_tasks_warns_in_the_toolbar_and_the_runs_table(
    tenant, live_server_url, jobs_worker, frontend_dist, page, shot
):
    org, user, key = tenant
    lithops = in_thread(create_workspace, org=org, user=user, name="some fail", template="lithops")
    put_file(live_server_url, key, lithops.id, "some_fail.py", SOME_FAIL)
    open_ide(page, live_server_url, lithops.id, first_file="example.py")
    page.get_by_label("Entrypoint").select_option("some_fail.py")
    page.get_by_role("button", name="▶ Run").click()
    output = page.get_by_role("log", name=re.compile("Output of run"))
    expect(output).to_contain_text("all calls ended", timeout=180_000)
    # The script succeeded, and the toolbar says so, with the failed tasks beside it rather than hidden.
    expect(run_state(page)).to_have_text("succeeded")
    toolbar = page.get_by_role("toolbar", name="Run")
    expect(toolbar.get_by_test_id("task-warning")).to_have_text("⚠ 2 of 6 tasks failed")
    shot("toolbar-warning")

    panel_tab(page, "Runs").click()
    history = page.get_by_test_id("runs-history")
    row = history.locator("tbody tr").first
    expect(row.get_by_test_id("task-warning")).to_have_text("⚠ 2 of 6 tasks failed")
    expect(row).to_contain_text("4 ok · 2 failed")
    cells = row.locator("td").all_inner_texts()
    headers = history.locator("thead th").all_inner_texts()
    assert cells[headers.index("Exit")] == "0"
    # Filters: with failed tasks keeps it; the "failed" state does not (the run succeeded).
    page.get_by_label("with failed or lost tasks").check()
    expect(history.locator("tbody tr")).to_have_count(1)
    page.get_by_label("Filter by state").select_option("failed")
    expect(history.locator("tbody tr")).to_have_count(0)
    page.get_by_label("Filter by state").select_option("succeeded")
    expect(history.locator("tbody tr")).to_have_count(1)
    shot("runs-table")


def test_tasks_stopped_by_cancel_are_lost(tenant, live_server_url, jobs_worker, frontend_dist, page, shot):
    org, user, key = tenant
    lithops = in_thread(create_workspace, org=org, user=user, name="sleepers", template="lithops")
    put_file(live_server_url, key, lithops.id, "sleepers.py", SLEEPERS)
    open_ide(page, live_server_url, lithops.id, first_file="example.py")
    page.get_by_label("Entrypoint").select_option("sleepers.py")
    page.get_by_role("button", name="▶ Run").click()
    panel_tab(page, "Gantt").click()
    chart = page.get_by_test_id("gantt")
    # Both tasks are running (their bars drawn) before the cancel.
    expect(chart).to_have_attribute("data-bars", "2", timeout=180_000)
    page.get_by_role("button", name="■ Cancel").click()
    expect(run_state(page)).to_have_text("cancelled")
    toolbar = page.get_by_role("toolbar", name="Run")
    expect(toolbar.get_by_test_id("task-warning")).to_have_text("⚠ 2 of 2 tasks lost", timeout=60_000)

    # The Gantt's task details say "lost", in the legend's "lost (job ended)" colour, not a red "failed".
    page.get_by_role("img", name=re.compile("Gantt chart of the job")).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    details = page.get_by_role("region", name="Task details")
    expect(details).to_contain_text("lost")
    expect(details).not_to_contain_text("failed")
    # The bars are drawn in the theme's --cancelled colour (the legend's "lost (job ended)").
    page.wait_for_function(
        """() => {
            const [r, g, b] = getComputedStyle(document.documentElement).getPropertyValue('--cancelled').trim()
                .match(/[0-9a-f]{2}/gi).map(h => parseInt(h, 16));
            let n = 0;
            for (const canvas of document.querySelectorAll('[data-testid=gantt] canvas')) {
                if (!canvas.width || !canvas.height) continue;
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 0; i < data.length; i += 4)
                    if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 30) n++;
            }
            return n > 200;
        }""",
        timeout=30_000,
    )
    shot("gantt-lost")

    # The Metrics panel counts them apart from the failed ones.
    panel_tab(page, "Metrics").click()
    metrics = page.get_by_test_id("metrics")
    expect(metrics).to_have_attribute("aria-busy", "false")
    expect(metrics.get_by_text("Lost", exact=True).first.locator("xpath=..")).to_contain_text("2")
    expect(metrics.get_by_text("Failed", exact=True).first.locator("xpath=..")).to_contain_text("0")

    panel_tab(page, "Runs").click()
    row = page.get_by_test_id("runs-history").locator("tbody tr").first
    expect(row).to_contain_text("0 ok · 2 lost")


def test_entrypoint_menu_and_run_agree_after_a_delete_and_the_backend_survives_a_reload(
    tenant, workspace, live_server_url, jobs_worker, frontend_dist, page, shot
):
    _, _, key = tenant
    put_file(live_server_url, key, workspace.id, "other.py", "print('other')\n")
    open_ide(page, live_server_url, workspace.id)
    entrypoint = page.get_by_label("Entrypoint")
    backend = page.get_by_label("Backend")
    entrypoint.select_option("other.py")
    options = [o for o in backend.locator("option").evaluate_all("os => os.map(o => o.value)") if o]
    chosen = next(o for o in options if o != "lithops-localhost")
    backend.select_option(chosen)

    # The chosen entrypoint is deleted (here by another client): the menu falls back to a file that exists ...
    with api_client(live_server_url, key) as client:
        assert client.delete(f"workspaces/{workspace.id}/files/other.py").status_code == 204
    page.get_by_title("Reload the file list").click()
    expect(entrypoint).to_have_value("main.py")
    # ... and Run sends what the menu shows.
    runs_url = f"/workspaces/{workspace.id}/runs/"
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith(runs_url)) as sent:
        page.get_by_role("button", name="▶ Run").click()
    body = sent.value.post_data_json
    assert (body["entrypoint"], body["backend"]) == ("main.py", chosen)
    shot("after-delete")

    page.reload()
    page.get_by_role("tab", name=re.compile("main.py")).wait_for()
    expect(page.get_by_label("Backend")).to_have_value(chosen)
    expect(page.get_by_label("Entrypoint")).to_have_value("main.py")


# --- The login page, organisations, a failed build and its steps ------------------------------------------

BACKGROUND = "getComputedStyle(document.body).backgroundColor"


def test_the_login_page_follows_the_apps_theme(tenant, live_server_url, frontend_dist, page, shot):
    page.goto(f"{live_server_url}/login/")
    # Light by default, as the IDE is ...
    assert page.evaluate("document.documentElement.dataset.scheme") == "light"
    assert page.evaluate(BACKGROUND) == "rgb(255, 255, 255)"
    shot("login-light")
    # ... and dark once the user chose dark in the IDE (the same stored choice).
    panels.login(page, live_server_url)
    page.get_by_role("button", name="☾ Dark").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login/"))
    assert page.evaluate("document.documentElement.dataset.scheme") == "dark"
    assert page.evaluate(BACKGROUND) == "rgb(15, 20, 25)"
    shot("login-dark")


def test_a_user_creates_an_organisation_and_acts_in_it(tenant, live_server_url, frontend_dist, page, shot):
    panels.login(page, live_server_url)
    page.get_by_role("button", name="+ New organisation").click()
    form = page.get_by_role("form", name="New organisation")
    form.get_by_label("Organisation name").fill("Side Lab")
    form.get_by_role("button", name="Create").click()
    # The new organisation is the one the page acts in, owned by its creator.
    menu = page.get_by_label("Organisation", exact=True)
    expect(menu).to_have_value("side-lab")
    expect(menu.locator("option:checked")).to_have_text("Side Lab (owner)")
    page.get_by_role("heading", name="Workspaces · Side Lab").wait_for()
    shot("new-org")


BROKEN_ENV = "name: demo\ndependencies:\n  - python=3.11\n  - pip:\n      - this-package-does-not-exist-pyrun-xyz\n"


def test_a_failed_build_replaces_the_building_toast_with_its_error(
    tenant, workspace, live_server_url, jobs_worker, frontend_dist, page, shot
):
    put_file(live_server_url, tenant[2], workspace.id, ".pyrun/environment.yml", BROKEN_ENV)
    open_ide(page, live_server_url, workspace.id)
    panel_tab(page, "Runtime").click()
    page.get_by_role("button", name="Build for current spec").click()
    toasts = page.get_by_role("status").locator(".toast")
    expect(toasts.filter(has_text="Building the runtime…")).to_have_count(1)
    failure = toasts.filter(has_text="The runtime build failed")
    expect(failure).to_have_count(1, timeout=180_000)
    expect(failure).to_contain_text("this-package-does-not-exist-pyrun-xyz")
    expect(toasts.filter(has_text="Building the runtime…")).to_have_count(0)
    expect(page.get_by_test_id("runtime-state")).to_have_text("failed")
    # The step indicator: resolve passed, the install step is where it failed (download is part of uv's install).
    steps = page.get_by_role("list", name="Build steps")
    expect(steps).to_have_attribute("data-phase", "install")
    expect(steps.locator("li[aria-current=step]")).to_have_text("✗ install")
    expect(steps.locator("li").first).to_have_text("✓ resolve")
    shot("build-failed")
