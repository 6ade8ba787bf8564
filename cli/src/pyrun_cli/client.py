"""The HTTP side of ``pyrun``: one ``Api`` object that authenticates, retries what is safe to retry and turns
every failure into a ``CliError`` with the platform's own error message."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from pyrun_cli.errors import CliError, Exit

ORG_HEADER = "X-PyRun-Org"
RETRIES = 4  # about 7.5 s of backoff in all: rides out a restart of the web process
BACKOFF = 0.5
RETRYABLE_STATUS = frozenset({502, 503, 504})
# Errors raised before a byte of the request left: retrying them cannot run anything twice.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ApiError(CliError):
    """The platform answered with an error body ``{"error": {"id", "message", "fields"?}}``."""

    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message, Exit.UNREACHABLE if status >= 500 else Exit.USAGE)
        self.status = status
        self.error_id = error_id


def _error_of(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        error_id, message = str(error["id"]), str(error["message"])
        fields = error.get("fields")
    except (ValueError, KeyError, TypeError):
        # Not the platform's JSON: a proxy page, or the URL points at something else entirely.
        return ApiError(response.status_code, "cli:platform:bad-response", _not_json(response))
    if isinstance(fields, Mapping) and fields:
        details = "; ".join(f"{name}: {_flatten(problem)}" for name, problem in fields.items())
        message = f"{message} ({details})"
    return ApiError(response.status_code, error_id, message)


def _not_json(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f"HTTP {response.status_code} from {response.request.url} (not a PyRun API answer): {text}"


def _flatten(problem: Any) -> str:
    if isinstance(problem, list):
        return " ".join(_flatten(p) for p in problem)
    if isinstance(problem, Mapping):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in problem.items())
    return str(problem)


class Api:
    """The REST API under ``{url}/api/v1/``.

    Retries with exponential backoff: connection failures always (nothing was sent); timeouts, dropped
    connections and 502/503/504 only for idempotent calls (a retried POST could start a second job); 429 as
    told by Retry-After. After ``retries`` the call fails with exit code 5.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        org: str | None = None,
        *,
        retries: int | None = None,
        backoff: float | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = RETRIES if retries is None else retries
        self.backoff = BACKOFF if backoff is None else backoff
        self.sleep = sleep
        headers = {"User-Agent": "pyrun-cli"}
        if token:
            headers["Authorization"] = f"Token {token}"
        if org:
            headers[ORG_HEADER] = org
        self._http = httpx.Client(base_url=self.url + "/api/v1/", headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def raw(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> httpx.Response:
        """The response, whatever its status (after retries); raises only when the server stays unreachable."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        attempt = 0
        while True:
            _rewind(kwargs.get("files"))
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt >= self.retries or not (idempotent or isinstance(exc, NOT_SENT)):
                    raise CliError(
                        f"Cannot reach {self.url}: {exc.__class__.__name__}: {exc}", Exit.UNREACHABLE
                    ) from exc
                self.sleep(self._delay(attempt))
            else:
                retry_after = _retry_after(response)
                if attempt >= self.retries or not (
                    response.status_code == 429 or (idempotent and response.status_code in RETRYABLE_STATUS)
                ):
                    return response
                response.close()
                self.sleep(retry_after if retry_after is not None else self._delay(attempt))
            attempt += 1

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON body (None when empty); an error answer raises ``ApiError``."""
        response = self.raw(method, path, **kwargs)
        if not response.is_success:
            raise _error_of(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status_code, "cli:platform:bad-response", _not_json(response)) from None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def _delay(self, attempt: int) -> float:
        return min(self.backoff * 2**attempt, 10.0)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 60.0) if value.isdigit() else None


def _rewind(files: Any) -> None:
    """A retried upload must send the file objects from their start again."""
    if not files:
        return
    items = files.values() if isinstance(files, Mapping) else (value for _, value in files)
    for value in items:
        fileobj = value[1] if isinstance(value, tuple) else value
        if hasattr(fileobj, "seek"):
            fileobj.seek(0)
