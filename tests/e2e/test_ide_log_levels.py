"""The Output panel colours a line by what it says, not by its stream, and the job's log names the runtime, never
its folder on the host: a real Lithops run in Debian's Chromium against the real server and a real worker.

Lithops writes its normal ``[INFO]`` lines to stderr: drawn red, every successful run looked failed. Here they
are drawn like stdout, while a Python traceback (from its first line to the exception) is red.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jobs.models import Job
from tests.e2e import test_ide_panels as panels
from tests.e2e.test_ide_panels import api_client, in_thread, open_ide, put_file, run_state
from workspaces.services import create_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# That module's fixtures, shared rather than copied (see share_fixtures).
panels.share_fixtures(globals())

SCRIPT = """\
import sys

import lithops


def square(x: int) -> int:
    return x * x


executor = lithops.FunctionExecutor()
results = executor.get_result(executor.map(square, range(4)))
print("squares:", results)
print("interpreter:", sys.executable)
raise ValueError("boom after the map")
"""

# The colour a line's text is drawn in, and the theme's colour for failures (a probe element resolves the variable).
COLOUR = "element => getComputedStyle(element).color"
FAIL_COLOUR = """() => {
    const probe = document.createElement('span');
    probe.style.color = 'var(--fail)';
    document.body.append(probe);
    const colour = getComputedStyle(probe).color;
    probe.remove();
    return colour;
}"""


def line(output, pattern: str):
    return output.locator(".logline", has=output.page.locator(".text", has_text=re.compile(pattern))).first


def test_lithops_info_on_stderr_is_not_an_error_a_traceback_is_and_no_host_path(
    tenant, live_server_url, jobs_worker, frontend_dist, page, shot
):
    org, user, key = tenant
    workspace = in_thread(create_workspace, org=org, user=user, name="log levels", template="lithops")
    put_file(live_server_url, key, workspace.id, "levels.py", SCRIPT)
    open_ide(page, live_server_url, workspace.id, first_file="example.py")
    page.get_by_label("Entrypoint").select_option("levels.py")
    page.get_by_role("button", name="▶ Run").click()
    output = page.get_by_role("log", name=re.compile("Output of run"))
    expect(run_state(page)).to_have_text("failed", timeout=240_000)
    fail = page.evaluate(FAIL_COLOUR)

    # The end: the traceback is red from its first line to the exception; the runtime is named by its id.
    traceback = line(output, r"^Traceback \(most recent call last\):$")
    exception = line(output, r"^ValueError: boom after the map$")
    expect(exception).to_be_visible(timeout=30_000)
    for row in (traceback, exception):
        expect(row).to_have_class(re.compile(r"\bstderr\b.*\blevel-error\b"))
        assert row.locator(".text").evaluate(COLOUR) == fail
    interpreter = line(output, r"^interpreter: <runtime \d+>/bin/python$")
    expect(interpreter).to_have_count(1)
    shot("traceback-red")

    # Lithops' [INFO] lines of the map (a few lines above the traceback, among the rows the view holds) came on
    # stderr and are drawn as stdout is, not as an error.
    info = line(output, r"\[INFO\]")
    info.scroll_into_view_if_needed()
    expect(info).to_be_visible()
    expect(info).to_have_class(re.compile(r"\bstderr\b"))
    expect(info).to_have_class(re.compile(r"\blevel-info\b"))
    expect(info).not_to_have_class(re.compile(r"\blevel-error\b"))
    squares = line(output, r"^squares: \[0, 1, 4, 9\]$")
    info_colour = info.locator(".text").evaluate(COLOUR)
    assert info_colour != fail
    if squares.count():  # in sight too: the INFO line is drawn in the stdout colour
        assert info_colour == squares.locator(".text").evaluate(COLOUR)
    shot("lithops-info-plain")

    # The whole log (through the API, the view only holds the lines in sight): no host folder of the runtime.
    job_id = in_thread(lambda: Job.objects.filter(workspace_id=workspace.id).latest("id").pk)
    with api_client(live_server_url, key) as client:
        chunks = client.get(f"jobs/{job_id}/logs/", params={"limit": 5000}).json()["chunks"]
        runtime = client.get(f"jobs/{job_id}/").json()["runtime"]
    text = "".join(chunk["text"] for chunk in chunks)
    assert "/runtimes/builds/" not in text and "/runtimes/envs/" not in text
    assert f"interpreter: <runtime {runtime}>/bin/python\n" in text
    assert any("[INFO]" in chunk["text"] for chunk in chunks if chunk["stream"] == "stderr")
