"""Getting around the IDE, in Debian's Chromium against the real server (and a real worker for the run): Ctrl+P
opens a file by part of its name, Ctrl+Shift+F finds a string in every file and a result opens the file at its
line, `?` shows the shortcuts, a file the terminal writes appears in the tree, and a failed run's traceback links
to the file and line (the editor marks it until the next run) while the Output panel finds, filters and downloads
its lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e import test_ide_panels as panels
from tests.e2e.test_ide_panels import open_ide, put_file, run_state, tree_item

# That module's fixtures, shared rather than copied (see share_fixtures).
panels.share_fixtures(globals())

pytestmark = [pytest.mark.e2e]

# The string sits at line 40: the editor has to scroll to show it.
HELPERS = "".join(f"# filler {i}\n" for i in range(1, 40)) + "WANTED = 'needle-in-the-haystack'\n"
LIB = """def check(value):
    if value < 0:
        # a negative value is refused
        # below, on line 7
        pass

    raise ValueError(f"bad value {value}")
"""
MAIN = """import lib

print("starting")
lib.check(3)
"""


def active_line(page) -> str:
    """The number of the editor's line with the cursor."""
    return page.locator("#editor-panel .line-numbers.active-line-number").first.inner_text().strip()


def test_ctrl_p_opens_a_file_ctrl_shift_f_finds_a_string_and_question_mark_shows_the_shortcuts(
    tenant, workspace, live_server_url, frontend_dist, page, shot
):
    put_file(live_server_url, tenant[2], workspace.id, "src/deep/helpers.py", HELPERS)
    put_file(live_server_url, tenant[2], workspace.id, "notes.txt", "nothing to see\n")
    open_ide(page, live_server_url, workspace.id)

    # Ctrl+P: part of the name, Enter opens it (even with the focus in the editor, which would take the key).
    page.locator(".monaco-editor .view-lines").first.click()
    page.keyboard.press("ControlOrMeta+P")
    palette = page.get_by_role("dialog", name="Go to file")
    palette.get_by_role("combobox", name="File name").fill("dhelp")
    expect(palette.get_by_role("option").first).to_contain_text("helpers.py")
    shot("quick-open")
    page.keyboard.press("Enter")
    expect(palette).to_have_count(0)
    expect(page.get_by_role("tab", name=re.compile("helpers.py"))).to_have_attribute("aria-selected", "true")
    page.locator(".monaco-editor .view-lines", has_text="filler 1").wait_for()

    # Back to main.py, then Ctrl+Shift+F: a result, grouped under its file, opens it at line 40.
    page.get_by_role("tab", name=re.compile("main.py")).click()
    page.keyboard.press("ControlOrMeta+Shift+F")
    field = page.get_by_role("searchbox", name="Search in the workspace")
    expect(field).to_be_focused()
    field.fill("NEEDLE-in")
    results = page.get_by_role("region", name="Search results")
    expect(results.get_by_role("status")).to_have_text("1 result in 1 file")
    expect(results.locator("summary")).to_contain_text("src/deep/helpers.py")
    hit = results.get_by_role("button", name=re.compile("needle-in-the-haystack"))
    expect(hit.locator("mark")).to_have_text("needle-in")
    shot("search-results")
    hit.click()
    expect(page.get_by_role("tab", name=re.compile("helpers.py"))).to_have_attribute("aria-selected", "true")
    page.locator(".monaco-editor .view-lines", has_text="needle-in-the-haystack").wait_for()
    expect(page.locator("#editor-panel .line-numbers.active-line-number")).to_have_text("40")
    field.fill("no such string anywhere")
    expect(results.get_by_role("status")).to_have_text(re.compile("No results"))

    # `?` outside the editor and fields: the shortcuts.
    page.get_by_role("button", name="Close search").click()
    page.get_by_role("tree", name="Workspace files").focus()
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_contain_text("Ctrl/Cmd+Shift+F")
    shot("shortcuts")
    page.keyboard.press("Escape")
    expect(help_dialog).to_have_count(0)


def test_a_file_the_terminal_writes_appears_in_the_tree(tenant, workspace, live_server_url, frontend_dist, page):
    open_ide(page, live_server_url, workspace.id)
    page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Terminal").click()
    page.get_by_text("Terminal · connected").wait_for()
    page.locator("#panel-terminal .xterm").click()
    page.keyboard.type("echo hi > made-in-terminal.txt")
    page.keyboard.press("Enter")
    # No refresh button pressed: the tree refetches once the terminal's output settles.
    expect(tree_item(page, "made-in-terminal.txt")).to_have_count(1, timeout=30_000)


def test_a_traceback_line_opens_the_file_at_that_line_and_is_marked_in_the_editor(
    tenant, workspace, live_server_url, jobs_worker, frontend_dist, page, shot
):
    put_file(live_server_url, tenant[2], workspace.id, "lib.py", LIB)
    put_file(live_server_url, tenant[2], workspace.id, "main.py", MAIN)
    put_file(live_server_url, tenant[2], workspace.id, "fine.py", 'print("fine")\n')
    open_ide(page, live_server_url, workspace.id)
    page.get_by_role("button", name="▶ Run").click()
    expect(run_state(page)).to_have_text("failed", timeout=180_000)
    output = page.get_by_role("log", name=re.compile("Output of run"))
    link = output.locator("a.trace-link", has_text='"/workspace/lib.py", line 7')
    expect(link).to_have_count(1, timeout=30_000)
    expect(output.locator("a.trace-link", has_text="/workspace/main.py")).to_have_count(1)
    shot("traceback-links")

    link.click()
    expect(page.get_by_role("tab", name=re.compile("lib.py"))).to_have_attribute("aria-selected", "true")
    page.locator(".monaco-editor .view-lines", has_text="raise ValueError").wait_for()
    expect(page.locator("#editor-panel .line-numbers.active-line-number")).to_have_text("7")
    # The last run's problem is marked on that line, with the exception as its message.
    expect(page.locator("#editor-panel .squiggly-error")).to_have_count(1, timeout=30_000)
    shot("marker")

    # The Output panel: a filter by text keeps the lines holding it (any case), a stream's filter that stream's.
    filter_box = page.get_by_role("searchbox", name="Filter the output")
    filter_box.fill("VALUE 3")
    lines = output.locator(".logline .text")
    expect(lines).to_have_text(["ValueError: bad value 3", re.compile("exited with code 1")])
    stream = page.get_by_role("combobox", name="Stream")
    stream.select_option("stderr")  # the platform's own line (system) goes
    expect(lines).to_have_text(["ValueError: bad value 3"])
    filter_box.fill("")
    stream.select_option("stdout")
    expect(lines).to_have_text(["starting"])
    shot("filtered")
    stream.select_option("")
    # Find marks the matches; the whole log downloads as a text file.
    page.get_by_role("searchbox", name="Find in the output").fill("bad value")
    page.keyboard.press("Enter")
    expect(output.locator(".logline.current mark")).to_have_text("bad value")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download log").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "starting\n" in text and "ValueError: bad value 3" in text

    # The next run clears the marks of the last one.
    page.get_by_label("Entrypoint").select_option("fine.py")
    page.get_by_role("button", name="▶ Run").click()
    expect(run_state(page)).to_have_text("succeeded", timeout=180_000)
    expect(page.get_by_role("tab", name=re.compile("lib.py"))).to_have_attribute("aria-selected", "true")
    expect(page.locator("#editor-panel .squiggly-error")).to_have_count(0)
