"""Results open in previews, in Debian's Chromium against the real server: a PNG a job wrote is an image (no editor),
a CSV a table with its header and row count, a binary file a read-only "binary file, N bytes" view, and a CSV's
"Open as text" puts it in the editor. Files are written through the files API before the page opens."""

from __future__ import annotations

import http.server
import math
import re
import struct
import threading
import zlib

import pytest

from tests.e2e import test_ide_panels as panels
from tests.e2e.test_ide_panels import api_client, editor_text, open_ide, tree_item

# That module's fixtures, shared rather than copied (see share_fixtures).
panels.share_fixtures(globals())

pytestmark = [pytest.mark.e2e]


def png(width: int, height: int, pixel=lambda x, y: b"\xff\x00\x00") -> bytes:
    """A real RGB PNG of that size; ``pixel(x, y)`` gives each pixel's RGB bytes (red by default)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def histogram_png(width: int = 480, height: int = 240) -> bytes:
    """A plot as a job would save one: a bell-shaped histogram, blue bars on white over a grey axis."""
    bars = 24
    heights = [int((height - 30) * math.exp(-(((i - bars / 2 + 0.5) / (bars / 6)) ** 2) / 2)) for i in range(bars)]

    def pixel(x: int, y: int) -> bytes:
        if y == height - 20 and 10 <= x < width - 10:
            return b"\x80\x80\x80"
        bar, inside = divmod(x - 20, (width - 40) // bars)
        if 0 <= bar < bars and inside >= 2 and height - 20 - heights[bar] <= y < height - 20:
            return b"\x1f\x77\xb4"
        return b"\xff\xff\xff"

    return png(width, height, pixel)


def open_file(page, path: str) -> None:
    tree_item(page, path).locator(".label").first.click()
    page.get_by_role("tab", name=re.compile(re.escape(path.rsplit("/", 1)[-1]))).wait_for()


def no_editor(page) -> bool:
    return page.locator("#editor-panel .monaco-editor").count() == 0


def test_results_open_as_image_table_and_binary_views(tenant, workspace, live_server_url, frontend_dist, page, shot):
    csv = "city,population\n" + "".join(f"town {i},{i * 10}\n" for i in range(1500))
    with api_client(live_server_url, tenant[2]) as client:
        for path, body in (
            ("results/plot.png", png(40, 30)),
            ("results/histogram.png", histogram_png()),
            ("results/towns.csv", csv.encode()),
            ("results/model.bin", bytes(range(256)) * 16),
        ):
            assert client.put(f"workspaces/{workspace.id}/files/{path}", content=body).status_code == 201

    open_ide(page, live_server_url, workspace.id)
    tree_item(page, "results").locator(".label").first.click()  # expand the folder

    # The plot: an image that decoded, and no Monaco editor for it.
    open_file(page, "results/plot.png")
    image = page.locator("#editor-panel .file-preview img")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('#editor-panel .file-preview img')?.naturalWidth === 40")
    assert image.get_attribute("src").startswith("blob:")
    assert no_editor(page)
    preview = page.get_by_role("toolbar", name="Preview")
    assert preview.get_by_role("link", name="Download").count() == 1
    assert preview.get_by_role("button", name="Open as text").count() == 0
    open_file(page, "results/histogram.png")
    page.wait_for_function("() => document.querySelector('#editor-panel .file-preview img')?.naturalWidth === 480")
    shot("image")

    # The CSV: a table with its header row and how many rows of how many.
    open_file(page, "results/towns.csv")
    table = page.get_by_role("table", name="Table preview")
    table.wait_for()
    # Each header cell is the column's name and the type read from its values.
    assert table.locator("thead th").all_inner_texts() == ["city string", "population integer"]
    assert table.locator("tbody tr").first.locator("td").all_inner_texts() == ["town 0", "0"]
    page.get_by_text("first 1,000 of 1,500 rows").wait_for()
    assert no_editor(page)
    shot("table")

    # The binary file: read-only, its size and a download, never an editor.
    open_file(page, "results/model.bin")
    binary = page.get_by_test_id("binary-file")
    binary.wait_for()
    assert "Binary file, 4,096 bytes" in binary.inner_text()
    assert binary.get_by_role("link", name="Download").get_attribute("href").endswith("/files/results/model.bin")
    assert no_editor(page)
    shot("binary")

    # Back to the CSV, and "Open as text": the editor shows its text.
    page.get_by_role("tab", name=re.compile("towns.csv")).click()
    page.get_by_role("toolbar", name="Preview").get_by_role("button", name="Open as text").click()
    page.locator(".monaco-editor .view-lines", has_text="city,population").wait_for()
    assert editor_text(page).startswith("city,population")
    shot("csv-as-text")


@pytest.fixture
def beacon():
    """A listener that counts every request reaching it: where a hostile page would send what it stole."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_html_preview_runs_no_script_and_loads_nothing(
    tenant, workspace, live_server_url, frontend_dist, page, page_errors, beacon
):
    """A results page a job wrote is a stranger's HTML: shown, but its scripts never run (the frame's empty sandbox)
    and it loads nothing (the CSP), so it can neither touch the IDE nor send anything anywhere."""
    beacon_url, hits = beacon
    hostile = f"""<h1>Quarterly report</h1>
<img alt="beacon" src="{beacon_url}/by-img">
<link rel="stylesheet" href="{beacon_url}/by-css">
<img alt="broken" src="data:," onerror="window.parent.document.title = 'pwned'">
<script>
  window.parent.document.title = "pwned";
  fetch("{beacon_url}/by-script");
</script>"""
    with api_client(live_server_url, tenant[2]) as client:
        response = client.put(f"workspaces/{workspace.id}/files/results/report.html", content=hostile.encode())
        assert response.status_code == 201

    open_ide(page, live_server_url, workspace.id)
    title = page.title()
    tree_item(page, "results").locator(".label").first.click()
    open_file(page, "results/report.html")

    frame = page.frame_locator("#editor-panel iframe.html-preview")
    frame.get_by_role("heading", name="Quarterly report").wait_for()
    assert no_editor(page)
    # Give a script or a load every chance to happen before looking for its effects.
    page.wait_for_timeout(1000)
    assert page.title() == title
    assert hits == []
    # Chromium says why: the frame's script was blocked. Those are the page's only expected console errors.
    blocked = [
        e for e in page_errors if "about:srcdoc" in e and ("Blocked script" in e or "Content Security Policy" in e)
    ]
    assert any("Blocked script" in e for e in blocked)
    page_errors[:] = [e for e in page_errors if e not in blocked]
