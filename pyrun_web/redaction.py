"""Keep API keys out of everything the platform writes: logs of every process, and the audit log.

Browsers cannot set headers on a websocket, so API clients may pass their key as ``?token=pyr_…`` in the URL,
and URLs are what servers log: uvicorn's access log, and its error log when a handshake fails. The filter
here rewrites a record before any handler formats it: every ``pyr_…`` key (even a wrong one) and every value
of a ``token=`` / ``ticket=`` query parameter becomes ``[redacted]``, and so does the secret part of an
invitation or password-reset link (``/invitations/accept/<token>/``, ``/accounts/password-reset/<uid>/<token>/``).

Where it is installed:

- ``settings.LOGGING``: on the root handler, so Django's loggers (``django.request`` …) and the platform's own
  pass through it in every process that uses Django's logging (web, beat, management commands);
- ``pyrun_web.asgi``: on uvicorn's own handlers (``uvicorn``, ``uvicorn.error``, ``uvicorn.access``), which
  uvicorn configures before it imports the app;
- ``pyrun_web.celery``: on the handlers Celery installs when a worker or beat sets up its logging;
- ``pyrun_web.audit.services.scrub``: on every text stored in an audit entry (there a key keeps its public
  prefix, ``pyr_1a2b3c4d_[redacted]``, which the token pages show too).
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
# The platform's keys look like pyr_<8 hex>_<urlsafe base64>; any pyr_ word is treated as one (a wrong key too).
_KEY = re.compile(r"(?<![A-Za-z0-9])pyr_[A-Za-z0-9_\-]*")
_FULL_KEY = re.compile(r"(?<![A-Za-z0-9])(pyr_[0-9a-f]{8}_)[A-Za-z0-9_\-]+")
_QUERY = re.compile(r"(?i)((?:^|[?&;\s\"'])(?:token|access_token|ticket)=)[^&\s\"'#]+")
# Links that are credentials themselves, as they appear in access logs: an invitation, a password reset.
_LINK = re.compile(r"(/invitations/accept/|/accounts/password-reset/[A-Za-z0-9_\-]+/)(?!set-password/)[^/\s\"'?#]+")


def redact(text: str) -> str:
    """``text`` with every key and ``token=`` query value replaced by ``[redacted]``."""
    if "pyr_" not in text and "=" not in text and "/invitations/" not in text and "/password-reset/" not in text:
        return text
    return _LINK.sub(r"\1" + REDACTED, _KEY.sub(REDACTED, _QUERY.sub(r"\1" + REDACTED, text)))


def redact_keys(text: str) -> str:
    """Milder, for stored records: a whole key keeps its public prefix (``pyr_1a2b3c4d_[redacted]``)."""
    if "pyr_" not in text and "=" not in text:
        return text
    return _FULL_KEY.sub(r"\1" + REDACTED, _QUERY.sub(r"\1" + REDACTED, text))


def _clean_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool | type(None)):
        return value
    try:
        text = str(value)
    except Exception:
        return value
    cleaned = redact(text)
    return cleaned if cleaned != text else value


class RedactTokens(logging.Filter):
    """A logging filter (for handlers: a handler's filters also see records propagated from child loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if isinstance(record.msg, str):
                record.msg = redact(record.msg)
            elif record.msg is not None and not isinstance(record.msg, int | float):
                record.msg = _clean_arg(record.msg)
            if isinstance(record.args, tuple):
                # Keep the tuple's shape: uvicorn's access formatter unpacks it.
                record.args = tuple(_clean_arg(arg) for arg in record.args)
            elif isinstance(record.args, dict):
                record.args = {key: _clean_arg(arg) for key, arg in record.args.items()}
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            if record.stack_info:
                record.stack_info = redact(record.stack_info)
        except Exception:  # a log line must never be lost to its filter: keep what could not be parsed hidden
            record.msg, record.args = f"{record.levelname} record from {record.name} (not shown: unreadable)", None
        return True


_FILTER = RedactTokens()


def install(*loggers: logging.Logger | str) -> None:
    """Add the filter (once) to every handler of ``loggers`` (default: root and every logger configured so far)."""
    if not loggers:
        manager = logging.Logger.manager
        loggers = (logging.getLogger(), *(lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)))
    for logger in loggers:
        logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        for handler in logger.handlers:
            if not any(isinstance(existing, RedactTokens) for existing in handler.filters):
                handler.addFilter(_FILTER)
