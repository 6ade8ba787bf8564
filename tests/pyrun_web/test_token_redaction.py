"""No API key in anything the platform logs: a real uvicorn (as ``pyrun-web web`` starts it), websockets with
``?token=pyr_…`` (a good key, a wrong one, one on a broken handshake), its stdout/stderr and the log records."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import subprocess
import sys
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from jobs.models import Job
from pyrun_web.audit.models import AuditEntry
from pyrun_web.audit.services import scrub
from pyrun_web.launcher import web_argv
from pyrun_web.redaction import RedactTokens, redact
from tests.conftest import free_port, stop_process, worker_env
from workspaces.services import create_workspace


@pytest.fixture
def logged_server(transactional_db, tmp_path):
    """uvicorn with the launcher's arguments at log level debug; yields (url, path of its stdout+stderr)."""
    port = free_port()
    out = tmp_path / "server.log"
    argv = [*web_argv("127.0.0.1", port), "--log-level", "debug"]
    with out.open("wb") as sink:
        process = subprocess.Popen(argv, env=worker_env({"PYRUN_LOG_LEVEL": "DEBUG"}), stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, out.read_text()
        try:
            httpx.get(f"{url}/login/", timeout=2)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
    try:
        yield url, out
    finally:
        stop_process(process)


async def _socket(url: str) -> str:
    try:
        async with connect(url, open_timeout=10) as ws:
            with contextlib.suppress(Exception):  # the server may close at once (a refusal) or stay silent
                await asyncio.wait_for(ws.recv(), 2)
            return "open"
    except InvalidStatus as refused:
        return f"refused {refused.response.status_code}"
    except Exception as exc:
        return type(exc).__name__


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        try:
            return conn.recv(65536)
        except OSError:
            return b""


def test_websocket_tokens_leave_no_key_in_the_logs(tenants, logged_server):
    url, out = logged_server
    workspace = create_workspace(org=tenants.org, user=tenants.member, name="W", template="empty")
    job = Job.objects.create(
        org=tenants.org, workspace=workspace, created_by=tenants.member, entrypoint="m.py", backend="lithops-localhost"
    )
    ws = url.replace("http", "ws", 1)
    good, bad = tenants.keys["member"], "pyr_00000000_thisisnotavalidkeyatall"
    results = {
        "good": asyncio.run(_socket(f"{ws}/ws/jobs/{job.pk}/?token={good}")),
        "bad": asyncio.run(_socket(f"{ws}/ws/jobs/{job.pk}/?token={bad}")),
        "nowhere": asyncio.run(_socket(f"{ws}/ws/nowhere/?token={good}")),
    }
    port = int(url.rsplit(":", 1)[1])
    # A broken handshake (no Sec-WebSocket-Key): uvicorn's error logger reports it.
    _raw(port, f"GET /ws/jobs/{job.pk}/?token={good} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())  # fmt: skip
    _raw(
        port, f"GET /api/v1/me/?token={good} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {bad}\r\n\r\n".encode()
    )
    _raw(port, f"GET /ws/jobs/{job.pk}/?token={good} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
         f"Connection: Upgrade\r\nSec-WebSocket-Key: {bad}\r\nSec-WebSocket-Version: 99\r\n\r\n".encode())  # fmt: skip
    time.sleep(1)
    text = out.read_text()
    assert results["good"] == results["bad"] == "open", results  # refusals close after accepting (ws_auth)
    assert "connection rejected" in text and "Traceback" in text  # the error logger did print those requests
    assert "pyr_" not in text
    assert good.split("_", 2)[2] not in text and "thisisnotavalidkey" not in text
    assert "[redacted]" in text  # the lines are there, without the keys


def _formatted_by(handler: logging.Handler, record: logging.LogRecord) -> str:
    for filter_ in handler.filters:
        (filter_.filter if hasattr(filter_, "filter") else filter_)(record)
    return handler.format(record)


def test_the_root_handler_of_settings_logging_redacts(tenants):
    """Django's request logger and every other logger propagating to root (web, beat, commands)."""
    key = tenants.keys["member"]
    root_handlers = logging.getLogger().handlers
    assert any(isinstance(f, RedactTokens) for h in root_handlers for f in h.filters)
    handler = next(h for h in root_handlers if any(isinstance(f, RedactTokens) for f in h.filters))
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        record = logging.getLogger("django.request").makeRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", (f"/x/?token={key}",),
            sys.exc_info(),
        )  # fmt: skip
    line = _formatted_by(handler, record)
    assert "Internal Server Error: /x/?token=[redacted]" in line and "bad key [redacted]" in line
    assert "pyr_" not in line


def test_celery_logging_setup_gets_the_filter():
    from celery.signals import after_setup_logger, after_setup_task_logger

    for signal in (after_setup_logger, after_setup_task_logger):
        logger = logging.getLogger(f"celery-test-{signal.name}")
        handler = logging.StreamHandler()
        logger.addHandler(handler)
        try:
            signal.send(sender=None, logger=logger, loglevel=logging.INFO, logfile=None, format="", colorize=False)
            assert any(isinstance(f, RedactTokens) for f in handler.filters)
            record = logger.makeRecord(
                logger.name, logging.INFO, "", 0, "Task %s[%s] %r", ("t", "id", {"k": "pyr_a_b"}), None
            )
            assert "pyr_" not in _formatted_by(handler, record)
        finally:
            logger.removeHandler(handler)


def test_the_uvicorn_access_record_keeps_its_shape():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/ws/jobs/1/?a=1&token=pyr_abcd1234_SECRET", "1.1", 101), None,
    )  # fmt: skip
    RedactTokens().filter(record)
    assert len(record.args) == 5 and record.args[4] == 101
    assert record.getMessage() == '127.0.0.1:5000 - "GET /ws/jobs/1/?a=1&token=[redacted] HTTP/1.1" 101'


def test_redact():
    assert redact("Authorization: Token pyr_1a2b3c4d_x-y_z") == "Authorization: Token [redacted]"
    assert redact("?ticket=abc&x=1 token=q") == "?ticket=[redacted]&x=1 token=[redacted]"
    assert redact("nothing to see") == "nothing to see"


def test_the_audit_log_keeps_only_a_keys_public_prefix(tenants):
    key = tenants.keys["member"]
    prefix = key.split("_")[1]
    assert scrub({"url": f"/ws/jobs/1/?token={key}", "note": f"used {key}"}) == {
        "url": "/ws/jobs/1/?token=[redacted]",
        "note": f"used pyr_{prefix}_[redacted]",
    }
    response = tenants.client("member").post("/api/v1/tokens/", {"name": "ci"}, format="json")
    assert response.status_code == 201
    new_key = response.json()["key"]
    for entry in AuditEntry.objects.all():
        stored = f"{entry.actor_repr} {entry.target_repr} {entry.details}"
        assert new_key not in stored and key not in stored


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('"GET /invitations/accept/Zm9vYmFyLXNlY3JldA_x-1/ HTTP/1.1" 200', "Zm9vYmFyLXNlY3JldA_x-1"),
        ('"GET /accounts/password-reset/MQ/cb1b2c-4f1d2e3c4b5a69788796a5b4c3d2e1f0/ HTTP/1.1" 302', "cb1b2c-4f1d2e"),
    ],
)
def test_invitation_and_password_reset_links_are_redacted_from_access_lines(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned and "[redacted]" in cleaned
    kept = '"GET /accounts/password-reset/MQ/set-password/ HTTP/1.1" 200'  # Django's own step: no secret in it
    assert redact(kept) == kept
