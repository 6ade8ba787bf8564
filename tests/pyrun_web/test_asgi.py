import asyncio
import logging

from pyrun_web.asgi import BrowserOriginValidator
from pyrun_web.redaction import RedactTokens


def _connects(origin: bytes | None) -> bool:
    """Whether the validator hands the socket on to the application (else it denies it itself)."""
    reached = []

    async def inner(scope, receive, send):
        reached.append(scope)

    messages = iter([{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}])

    async def receive():
        return next(messages)

    async def send(message):
        pass

    scope = {"type": "websocket", "path": "/ws/x/", "headers": [(b"origin", origin)] if origin else []}
    asyncio.run(BrowserOriginValidator(inner, ["pyrun.example.com"])(scope, receive, send))
    return bool(reached)


def test_browser_sockets_from_another_site_are_refused():
    assert _connects(b"https://pyrun.example.com")
    assert not _connects(b"https://evil.example.net")


def test_sockets_without_origin_are_non_browser_clients_and_pass():
    assert _connects(None)


def test_access_log_lines_do_not_show_tokens():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/ws/jobs/1/?token=pyr_abcd1234_SECRET&x=1", "1.1", 101), None,
    )  # fmt: skip
    RedactTokens().filter(record)
    assert "SECRET" not in record.getMessage()
    assert "token=[redacted]&x=1" in record.getMessage()
