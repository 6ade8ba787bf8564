"""The Gantt chart renders 100,000 tasks in a real browser (the render bench's page; timings are the bench's job)."""

import shutil

import pytest

from bench.bench_gantt import ensure_built, render, serve

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("npx") is None, reason="node is needed to build the frontend"),
]


def test_the_gantt_paints_100k_tasks_without_page_errors(ide_page):
    with serve(ensure_built()) as base_url:
        result, errors = render(ide_page, base_url, tasks=100_000, zooms=2)
        chart = ide_page.locator("[data-testid=gantt]")
        bars = int(chart.get_attribute("data-bars"))
        tasks = int(chart.get_attribute("data-tasks"))
    assert errors == []
    assert "error" not in result
    assert result["tasks"] == 100_000
    assert tasks == 100_000
    # Zoomed out, the tasks are merged to the screen's pixels: some bars, far fewer than tasks.
    assert 0 < bars < tasks
    assert ide_page.locator("canvas[tabindex='0'][aria-label]").count() == 1


def test_a_small_job_is_drawn_one_bar_per_task(ide_page):
    with serve(ensure_built()) as base_url:
        _, errors = render(ide_page, base_url, tasks=300, lanes=8, zooms=0)
        chart = ide_page.locator("[data-testid=gantt]")
        assert errors == []
        assert chart.get_attribute("data-exact") == "true"
        assert int(chart.get_attribute("data-bars")) == 300
        # Keyboard: the canvas takes focus; Enter on the keyboard cursor opens the task's details.
        ide_page.locator("canvas").focus()
        ide_page.keyboard.press("ArrowDown")
        ide_page.keyboard.press("Enter")
        assert ide_page.locator("section[aria-label='Task details']").is_visible()
