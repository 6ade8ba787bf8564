import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def page():
    """A real headless Chromium page (Debian's chromium; Playwright's own download is not available)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        yield page
        browser.close()


# --- The browser IDE (tests/e2e/test_ide.py) ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Screenshots of normal runs go here (not committed); PYRUN_E2E_ARTIFACTS names another folder.
ARTIFACTS = Path(os.environ.get("PYRUN_E2E_ARTIFACTS") or ROOT / "tmp" / "artifacts" / "e2e")


@pytest.fixture(scope="session")
def frontend_dist():
    """The built IDE (make frontend builds it when missing or stale)."""
    subprocess.run(["make", "-s", "frontend"], cwd=ROOT, check=True)
    return ROOT / "frontend" / "dist"


@pytest.fixture
def artifacts(request):
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def ide_page():
    """A 1280x720 Chromium page, kept open across a long test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        # Every wait gets a minute: on 2 cores shared with a worker, builds and a server, steps can be slow.
        page.set_default_timeout(60_000)
        yield page
        browser.close()
