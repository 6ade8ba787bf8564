"""Job tests: a real Celery worker (its own process, the test database), real sandboxes, real runtimes.

Starting a worker costs seconds, so the run tests of one module share one (``jobs_worker``: two pool processes,
so a broken quota would show as two jobs running at once); each test still gets a flushed database.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.tenants import Tenants

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out"}


# --- Helpers ---------------------------------------------------------------------------------------------


def make_workspace(t: Tenants, files: dict[str, str] | None = None, template: str = "python", name: str = "Jobs"):
    from workspaces.services import create_workspace

    workspace = create_workspace(org=t.org, user=t.owner, name=name, template=template)
    for rel, text in (files or {}).items():
        path = Path(workspace.path) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return workspace


def start_run(client, workspace_id: int, entrypoint: str, **body) -> dict:
    response = client.post(f"/api/v1/workspaces/{workspace_id}/runs/", {"entrypoint": entrypoint, **body})
    assert response.status_code == 201, response.content
    return response.json()


def wait_for(client, job_id: int, states=TERMINAL, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}/").json()
        if body["state"] in states:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {body['state']} after {timeout}s: {logs_text(client, job_id)}")
        time.sleep(0.2)


def read_logs(client, job_id: int, *, limit: int = 1000, timeout: float = 30) -> tuple[list[dict], dict]:
    """Every chunk of a finished job through the logs API (paging with next_after until complete)."""
    chunks: list[dict] = []
    after = 0
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(f"/api/v1/jobs/{job_id}/logs/", {"after": after, "limit": limit}).json()
        chunks += page["chunks"]
        after = page["next_after"]
        if page["complete"]:
            return chunks, page
        if time.monotonic() > deadline:
            raise AssertionError(f"the log of job {job_id} is not complete after {timeout}s: {page}")
        if not page["chunks"]:
            time.sleep(0.1)


def logs_text(client, job_id: int, stream: str | None = None) -> str:
    page = client.get(f"/api/v1/jobs/{job_id}/logs/", {"limit": 5000}).json()
    return "".join(c["text"] for c in page["chunks"] if stream is None or c["stream"] == stream)


def wait_for_output(client, job_id: int, needle: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = logs_text(client, job_id)
        if needle in text:
            return text
        state = client.get(f"/api/v1/jobs/{job_id}/").json()["state"]
        if state in TERMINAL or time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} never printed (job {state}): {text}")
        time.sleep(0.2)
