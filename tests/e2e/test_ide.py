"""The browser IDE end to end, in Debian's Chromium against the real server and a real Celery worker:
log in → new workspace from the lithops template → edit example.py and save → Run → the live log shows the
result → the Gantt has one bar per task → a second, long run is cancelled → the history shows both.

Screenshots of every step go to tmp/artifacts/e2e/<test>/ (PYRUN_E2E_ARTIFACTS to change it). With
PYRUN_E2E_README_IMAGES=1 the IDE and Gantt shots are also copied to docs/img/ for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from pyrun_web.tenancy.services import create_tenant
from templates_lib.registry import TEMPLATES
from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "e2e horse battery staple"
SLOW = 'import time\n\nprint("sleeping", flush=True)\ntime.sleep(60)\nprint("woke up")\n'


def replace_editor_text(page, text: str) -> None:
    """Select everything in the focused Monaco editor and type the new text (as a paste would)."""
    page.locator(".monaco-editor .view-lines").first.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


@pytest.fixture
def developer(transactional_db):
    """An org owner made like `manage.py createtenant` does (before the browser starts: Playwright's sync API
    runs an event loop in this thread, and Django refuses database calls there)."""
    _, user, _ = create_tenant("E2E Lab", "dev@example.com", PASSWORD)
    return user


@pytest.fixture
def page_with_failure_shot(ide_page, artifacts):
    """The page; its last state is saved as last.png whatever happens (the one to look at when a step fails)."""
    yield ide_page
    ide_page.screenshot(path=str(artifacts / "last.png"))


def test_edit_run_watch_gantt_cancel_and_history(
    developer, live_server_url, jobs_worker, frontend_dist, artifacts, page_with_failure_shot
):
    page = page_with_failure_shot
    started = time.monotonic()
    step = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=str(artifacts / f"{next(step):02d}-{name}.png"))

    # Log in through the server-rendered form; it hands over to the IDE.
    page.goto(f"{live_server_url}/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "dev@example.com")
    page.fill("input[name=password]", PASSWORD)
    shot("login")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server_url}/")
    page.get_by_role("heading", name=re.compile("Workspaces")).wait_for()

    # New workspace from the lithops template.
    form = page.get_by_role("form", name="New workspace")
    form.get_by_label("Name").fill("e2e demo")
    form.get_by_label("Template").select_option("lithops")
    shot("new-workspace")
    form.get_by_role("button", name="Create workspace").click()
    page.wait_for_url(re.compile(r"/w/\d+"))
    workspace_id = int(re.search(r"/w/(\d+)", page.url).group(1))

    # example.py opens in Monaco; edit it and save with Ctrl/Cmd+S.
    page.get_by_role("tab", name=re.compile("example.py")).wait_for()
    page.locator(".monaco-editor .view-lines").first.wait_for()
    page.get_by_role("treeitem", name=re.compile("example.py")).wait_for()
    original = (TEMPLATES["lithops"].folder / "example.py").read_text()
    assert "range(10)" in original
    edited = original.replace("range(10)", "range(12)")
    number = page.locator(".monaco-editor .view-line span span", has_text=re.compile(r"^10$"))
    number.dblclick()  # selects the word, as a user would
    page.keyboard.type("12")
    # The tab turns dirty once the editor's change reaches the IDE's state (a moment after the keystrokes).
    page.locator('[role=tab][data-dirty="true"]', has_text="example.py").wait_for()
    shot("edited")
    page.keyboard.press("ControlOrMeta+S")
    page.locator('[role=tab][data-dirty="false"]', has_text="example.py").wait_for()
    saved = page.evaluate(f"fetch('/api/v1/workspaces/{workspace_id}/files/example.py').then(r => r.text())")
    assert "range(12)" in saved and "range(10)" not in saved
    assert saved == edited

    # Run: the output panel streams the log live.
    page.get_by_role("button", name="▶ Run").click()
    state = page.get_by_test_id("current-state")
    output = page.get_by_role("log", name=re.compile("Output of run"))
    output.get_by_text("sum: 506").wait_for(timeout=60_000)  # 0² + 1² + … + 11²
    page.wait_for_function("document.querySelector('[data-testid=current-state]')?.textContent === 'succeeded'")
    assert state.inner_text() == "succeeded"
    output.get_by_text("squares: [0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121]").wait_for()
    first_id = int(re.search(r"job=(\d+)", page.url).group(1))
    shot("ide-run-succeeded")
    ide_shot = artifacts / "ide.png"
    page.screenshot(path=str(ide_shot))

    # The Gantt: one bar per task.
    page.get_by_role("tab", name="Gantt").click()
    gantt = page.get_by_test_id("gantt")
    gantt.wait_for()
    page.wait_for_function("document.querySelector('[data-testid=gantt]')?.dataset.bars === '12'", timeout=20_000)
    assert gantt.get_attribute("data-tasks") == "12"
    page.get_by_text("12 tasks · 12 in view").wait_for()
    shot("gantt")
    gantt_shot = artifacts / "gantt.png"
    page.screenshot(path=str(gantt_shot))

    # A second, long run: a new file, run it, cancel it.
    page.get_by_role("toolbar", name="Files").get_by_role("button", name="+ File").click()
    ask = page.get_by_role("dialog", name="New file")
    ask.get_by_role("textbox").fill("slow.py")
    ask.get_by_role("button", name="Create").click()
    page.get_by_role("tab", name=re.compile("slow.py")).wait_for()
    page.locator(".monaco-editor .view-lines").first.wait_for()
    replace_editor_text(page, SLOW)
    page.keyboard.press("ControlOrMeta+S")
    page.locator('[role=tab][data-dirty="false"]', has_text="slow.py").wait_for()
    page.get_by_label("Entrypoint").select_option("slow.py")
    page.get_by_role("button", name="▶ Run").click()
    # Job ids are global: wait for the URL to name a run other than the first one.
    page.wait_for_url(lambda url: re.search(r"job=(\d+)", url) and f"job={first_id}" not in url)
    second_id = int(re.search(r"job=(\d+)", page.url).group(1))
    page.get_by_role("toolbar", name="Run").get_by_text(f"Run #{second_id}:").wait_for()
    page.get_by_role("tab", name="Output").click()
    page.wait_for_function("document.getElementById('panel-tab-output')?.getAttribute('aria-selected') === 'true'")
    page.get_by_role("log", name=f"Output of run {second_id}").get_by_text("sleeping").wait_for(timeout=60_000)
    shot("long-run")
    page.get_by_role("toolbar", name="Run").get_by_role("button", name="■ Cancel").click()
    page.wait_for_function("document.querySelector('[data-testid=current-state]')?.textContent === 'cancelled'")
    shot("cancelled")

    # The history shows both runs.
    page.get_by_role("tab", name=re.compile("^Runs")).click()
    history = page.get_by_test_id("runs-history")
    history.locator("tbody tr").nth(1).wait_for()
    rows = history.locator("tbody tr")
    assert rows.count() == 2
    states = [rows.nth(i).get_attribute("data-state") for i in range(2)]
    assert states == ["cancelled", "succeeded"]
    assert history.get_by_text("slow.py").is_visible() and history.get_by_text("example.py").is_visible()
    assert history.get_by_text("dev@example.com").first.is_visible()
    shot("history")

    # Open the first run's logs from the history.
    first_id = int(rows.nth(1).get_attribute("data-job"))
    page.get_by_role("button", name=f"Logs of run {first_id}").click()
    page.get_by_role("log", name=f"Output of run {first_id}").get_by_text("sum: 506").wait_for()
    shot("past-run-logs")

    if os.environ.get("PYRUN_E2E_README_IMAGES"):
        images = ROOT / "docs" / "img"
        images.mkdir(parents=True, exist_ok=True)
        shutil.copy(ide_shot, images / "ide.png")
        shutil.copy(gantt_shot, images / "gantt.png")
    print(f"IDE e2e took {time.monotonic() - started:.1f} s")


def test_dask_template_runs_with_its_tasks_in_the_gantt(
    developer, live_server_url, jobs_worker, frontend_dist, page_with_failure_shot
):
    """A workspace made from the dask template and run without choosing a backend: its LocalCluster's tasks
    reach the Gantt (the template sets the workspace's default backend to dask-local)."""
    page = page_with_failure_shot
    page.goto(f"{live_server_url}/")
    page.fill("input[name=username]", "dev@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    form = page.get_by_role("form", name="New workspace")
    form.get_by_label("Name").fill("dask demo")
    form.get_by_label("Template").select_option("dask")
    form.get_by_role("button", name="Create workspace").click()
    page.wait_for_url(re.compile(r"/w/\d+"))
    page.get_by_role("tab", name=re.compile("example.py")).wait_for()

    page.get_by_role("button", name="▶ Run").click()
    output = page.get_by_role("log", name=re.compile("Output of run"))
    output.get_by_text("total: 55").wait_for(timeout=600_000)  # the first run builds the Dask runtime
    page.wait_for_function("document.querySelector('[data-testid=current-state]')?.textContent === 'succeeded'")

    page.get_by_role("tab", name="Gantt").click()
    page.get_by_test_id("gantt").wait_for()
    # Ten inc tasks and the total, plus any transfer between the two workers that Dask reports.
    page.wait_for_function("Number(document.querySelector('[data-testid=gantt]')?.dataset.tasks) >= 11", timeout=20_000)
    tasks = page.get_by_test_id("gantt").get_attribute("data-tasks")
    page.get_by_text(f"{tasks} tasks · {tasks} in view").wait_for()
