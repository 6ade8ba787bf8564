"""Run options and the terminal's pip (issue 18, points 6 and 8), in Debian's Chromium against the real server and a
real Celery worker: arguments and an environment variable set in the Run bar's Options popover reach the script
(the value is never shown back, and after a reload the arguments and the name are remembered, the value is not),
then the terminal's `pip --version` names the workspace's runtime the run used."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import test_ide_panels as panels
from tests.e2e.test_ide_panels import api_client, open_ide

# That module's fixtures, shared rather than copied (see share_fixtures).
panels.share_fixtures(globals())

pytestmark = [pytest.mark.e2e]

SECRET = "s3cret-value-42"
SCRIPT = (
    f"import os, sys\nprint('args:', sys.argv[1:])\nprint('token ok:', os.environ.get('API_TOKEN') == {SECRET!r})\n"
)


def test_run_options_reach_the_script_and_the_terminal_pip_is_the_runtime(
    tenant, workspace, live_server_url, jobs_worker, frontend_dist, page, shot
):
    with api_client(live_server_url, tenant[2]) as client:
        assert client.put(f"workspaces/{workspace.id}/files/show.py", content=SCRIPT.encode()).status_code == 201

    open_ide(page, live_server_url, workspace.id)
    runbar = page.get_by_role("toolbar", name="Run")
    runbar.get_by_label("Entrypoint").select_option("show.py")
    runbar.get_by_role("button", name=re.compile(r"^Options")).click()
    dialog = page.get_by_role("dialog", name="Run options")
    dialog.get_by_label("Arguments", exact=True).fill("--name \"Ada Lovelace\" 'it''s'")
    expect(dialog.get_by_label("Arguments as sent")).to_contain_text('"--name" "Ada Lovelace" "its"')

    # A platform name is refused as it is typed; a good one is added and shows only "set".
    dialog.get_by_label("Variable name").fill("PYRUN_TOKEN")
    dialog.get_by_role("button", name="Add variable").click()
    expect(dialog.get_by_role("alert")).to_contain_text("PYRUN_TOKEN cannot be set: the platform sets it")
    dialog.get_by_label("Variable name").fill("API_TOKEN")
    dialog.get_by_label("Variable value").fill(SECRET)
    dialog.get_by_role("button", name="Add variable").click()
    row = dialog.locator('tr[data-name="API_TOKEN"]')
    expect(row).to_contain_text("set")
    expect(dialog.get_by_label("Variable value")).to_have_value("")
    assert SECRET not in page.content()
    shot("run-options")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(runbar.get_by_role("button", name=re.compile(r"^Options"))).to_have_text("Options (4)")

    runbar.get_by_role("button", name="▶ Run").click()
    output = page.get_by_role("log", name=re.compile("Output of run"))
    output.get_by_text("args: ['--name', 'Ada Lovelace', 'its']").wait_for(timeout=600_000)  # builds the runtime
    output.get_by_text("token ok: True").wait_for()
    runbar.get_by_text("succeeded").wait_for(timeout=60_000)
    assert SECRET not in page.content()
    shot("run-output")

    # The terminal's python and pip: the runtime the run used.
    page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Terminal").click()
    page.get_by_text("Terminal · connected").wait_for()
    rows = page.locator("#panel-terminal .xterm-rows")
    expect(rows).to_contain_text(re.compile(r"python here is the workspace's runtime \d+"))
    expect(rows).to_contain_text(re.compile(r"/workspace[#$]"))
    page.locator("#panel-terminal .xterm").click()
    page.keyboard.type("pip --version")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text(re.compile(r"pip of the PyRun terminal for runtime \d+: /"), timeout=30_000)
    shot("terminal-pip")

    # After a reload: the arguments and the name are remembered, the value is not (it was in page memory only).
    page.reload()
    options = page.get_by_role("toolbar", name="Run").get_by_role("button", name=re.compile(r"^Options"))
    expect(options).to_have_text("Options (3) · 1 not set")
    options.click()
    dialog = page.get_by_role("dialog", name="Run options")
    expect(dialog.get_by_label("Arguments", exact=True)).to_have_value("--name \"Ada Lovelace\" 'it''s'")
    expect(dialog.locator('tr[data-name="API_TOKEN"]')).to_contain_text("not set")
