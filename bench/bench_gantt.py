"""Gantt render: 100,000 and 1,000,000 tasks in the browser IDE's chart in headless Chromium, first paint and zoom.

The page is ``frontend/bench.html`` (built by Vite with the app): the real chart (``GanttChart``: store, layout,
canvas) fed with synthetic tasks as the live socket delivers a job's history (batch frames of 5,000 events, as text:
as columns, ``tasks_format=columns``, what the IDE asks for; and as event objects, the A/B baseline at 100k), no
server. It reports the time from data ready (the frames in hand) to the first painted frame, JSON parsing and
merging included, and the time of a zoom frame: a wheel event dispatched → the next animation frame after the
chart has drawn (layout of every task in view + paint), the mean over several zooms of a zoomed-out view (the
heavy case: every task is in view and merged to the pixels). Targets: first paint ≤ 1 s for 100k and ≤ 2 s for 1M,
zoom frame ≤ 50 ms; ratios are measured/target, ≤ 1.00 meets them. Chromium runs with ``--disable-gpu`` (software
canvas) and ``--expose-gc`` (the page collects its synthetic events' garbage before the clock starts).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import statistics
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from bench.harness import BenchEnv, Result

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
DIST = FRONTEND / "dist"
TASKS = 100_000
BIG_TASKS = 1_000_000
LANES = 64
ZOOMS = 12
BIG_ZOOMS = 4
ROUNDS = (3, 7)  # page loads (quick, full)
TARGET_FIRST_PAINT_S = 1.0
TARGET_BIG_FIRST_PAINT_S = 2.0
TARGET_ZOOM_FRAME_S = 0.050
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--js-flags=--expose-gc",
]  # fmt: skip
_SOURCES = ("bench.html", "src/bench", "src/gantt", "vite.config.ts", "package-lock.json")


def _newest_source() -> float:
    newest = 0.0
    for name in _SOURCES:
        path = FRONTEND / name
        files = [path] if path.is_file() else list(path.rglob("*")) if path.is_dir() else []
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def ensure_built() -> Path:
    """``frontend/dist`` with the bench page, built (``vite build``, no type check) when missing or stale."""
    page = DIST / "bench.html"
    if not page.exists() or page.stat().st_mtime < _newest_source():
        subprocess.run(["npx", "vite", "build"], cwd=FRONTEND, check=True, capture_output=True)
    return DIST


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Serves dist/ under /static/ (the Vite base), quietly."""

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        if path.startswith("/static/"):
            path = path[len("/static") :]
        return super().translate_path(path)

    def log_message(self, format: str, *args) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """An HTTP server for ``directory`` on a free local port; yields the base URL."""
    handler = functools.partial(_StaticHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def render(
    page,
    base_url: str,
    tasks: int = TASKS,
    lanes: int = LANES,
    zooms: int = ZOOMS,
    timeout_s: float = 120,
    format: str = "columns",
):
    """Load the bench page in ``page`` and return its ``__benchResult`` and the page errors. ``format``: how the
    history comes, ``columns`` (as the IDE asks for it) or ``rows`` (event objects)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base_url}/static/bench.html?tasks={tasks}&lanes={lanes}&zooms={zooms}&format={format}")
    page.wait_for_function("window.__benchResult !== undefined", timeout=timeout_s * 1000)
    return page.evaluate("window.__benchResult"), errors


# (name, tasks, zooms, history format, page timeout): loaded in turn in each round, so the A/B pair (rows and
# columns at 100k) meets the same machine load.
CASES = (
    ("rows", TASKS, ZOOMS, "rows", 120),
    ("columns", TASKS, ZOOMS, "columns", 120),
    ("1M", BIG_TASKS, BIG_ZOOMS, "columns", 600),
)


def _summary(name: str, rounds: list[dict]) -> str:
    median = lambda field: statistics.median(r[field] for r in rounds)  # noqa: E731
    last = rounds[-1]
    return (
        f"  {name}: {last['tasks']:,} tasks on {last['lanes']} lanes as {last['format']}, {last['bars']:,} bars drawn "
        f"(1280x720 page); medians of {len(rounds)} page loads: JSON parse {median('parseMs'):.0f} ms, "
        f"merge {median('mergeMs'):.0f} ms, first layout+paint {median('firstLayoutMs'):.0f} ms, "
        f"first paint {median('firstPaintMs'):.0f} ms; zoom frames: layout+paint {median('zoomDrawMs'):.1f} ms, "
        f"worst {median('zoomFrameMaxMs'):.1f} ms, on screen (next frame) {median('zoomPresentedMs'):.1f} ms"
    )


def run(env: BenchEnv) -> list[Result]:
    from playwright.sync_api import sync_playwright

    measured: dict[str, list[dict]] = {name: [] for name, *_ in CASES}
    with serve(ensure_built()) as base_url, sync_playwright() as p:
        for _ in range(env.rounds(*ROUNDS)):
            for name, tasks, zooms, format, timeout_s in CASES:
                # A browser of its own for each page load, as a user's tab: nothing left of the previous page's
                # million tasks (its renderer's heap) is collected while this one is timed.
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 720})
                    result, errors = render(page, base_url, tasks=tasks, zooms=zooms, format=format,
                                            timeout_s=timeout_s)  # fmt: skip
                finally:
                    browser.close()
                if errors or result.get("error"):
                    raise RuntimeError(f"bench page failed: {result.get('error') or errors}")
                measured[name].append(result)
    for name, rounds in measured.items():
        print(_summary(name, rounds), flush=True)
    median = lambda name, field: statistics.median(r[field] for r in measured[name]) / 1000  # noqa: E731
    runs = lambda name, field: [r[field] / 1000 for r in measured[name]]  # noqa: E731
    return [
        Result("gantt first paint, 100k tasks (columns)", median("columns", "firstPaintMs"),
               median("rows", "firstPaintMs"), "history as events", subject_runs=runs("columns", "firstPaintMs"),
               baseline_runs=runs("rows", "firstPaintMs")),
        Result("gantt first paint, 100k tasks", median("columns", "firstPaintMs"), TARGET_FIRST_PAINT_S,
               "target 1 s", target=1.0, subject_runs=runs("columns", "firstPaintMs")),
        Result("gantt zoom frame, 100k tasks in view", median("columns", "zoomFrameMs"), TARGET_ZOOM_FRAME_S,
               "target 50 ms", target=1.0, subject_runs=runs("columns", "zoomFrameMs")),
        Result("gantt first paint, 1M tasks", median("1M", "firstPaintMs"), TARGET_BIG_FIRST_PAINT_S,
               "target 2 s", target=1.0, subject_runs=runs("1M", "firstPaintMs")),
        Result("gantt zoom frame, 1M tasks in view", median("1M", "zoomFrameMs"), TARGET_ZOOM_FRAME_S,
               "target 50 ms", target=1.0, subject_runs=runs("1M", "zoomFrameMs")),
    ]  # fmt: skip
