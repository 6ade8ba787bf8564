"""Upload size limits that hold while the body streams in, not after it has been stored.

A workspace upload's body is read twice, and each read is capped:

* Under ASGI, Django's handler reads the whole body into a temporary file before any view runs.
  :class:`UploadBodyLimit` wraps the ASGI app and stops that read at the most any org may send to the upload
  routes (their org is only known once the view authenticates the request).
* The multipart parser then copies each file part into a file of its own. :class:`LimitedUploadHandler` stops
  it at the limits of the request's own org: a part over the per-file limit, or a request over the workspace
  quota, is refused (413) at the chunk that crosses it, and the parts written so far are deleted.

The view's own checks (``WorkspaceFiles``: per file, quota after replacements) still run on what gets through.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.db.models import Max
from django.urls import Resolver404, resolve

from pyrun_web.errors import PyrunError, error_body
from pyrun_web.tenancy.models import Limits, Organization

# Room for a multipart body's boundaries, part headers and small fields (``path``) around the file bytes.
FORM_OVERHEAD = 1024 * 1024
ARCHIVES_FIELD = "archives"


@dataclass(frozen=True)
class UploadLimits:
    file_bytes: int  # one file part
    total_bytes: int  # all file parts of one request, and one zip part: nothing larger fits the workspace quota

    @classmethod
    def of(cls, limits: Limits) -> UploadLimits:
        return cls(file_bytes=limits.max_file_bytes, total_bytes=limits.max_workspace_bytes)

    @classmethod
    def widest(cls, limits: Iterable[Limits]) -> UploadLimits:
        """As much as the most generous of ``limits`` allows (the platform defaults when there are none)."""
        found = [cls.of(item) for item in limits] or [cls.of(Limits(**settings.PYRUN_LIMITS))]
        return cls(file_bytes=max(f.file_bytes for f in found), total_bytes=max(f.total_bytes for f in found))

    @classmethod
    def largest(cls) -> UploadLimits:
        """As much as any org may upload: the platform defaults, or an org's own larger limits."""
        found = Organization.objects.aggregate(file=Max("max_file_bytes"), total=Max("max_workspace_bytes"))
        defaults = settings.PYRUN_LIMITS
        return cls(
            file_bytes=max(defaults["max_file_bytes"], found["file"] or 0),
            total_bytes=max(defaults["max_workspace_bytes"], found["total"] or 0),
        )


def too_large(limit: int) -> PyrunError:
    return PyrunError("workspaces:user:upload-too-large", limit=limit)


class _PartFile(UploadedFile):
    """A file part in the workspaces' spool folder (where the store spools its writes), deleted when closed."""

    def __init__(self, name: str, content_type: str, charset: str | None, content_type_extra: dict | None) -> None:
        spool = settings.WORKSPACES_ROOT / ".incoming"
        spool.mkdir(parents=True, exist_ok=True)
        file = tempfile.NamedTemporaryFile(prefix="part-", dir=spool)  # noqa: SIM115 (the request closes it)
        super().__init__(file, name, content_type, 0, charset, content_type_extra)

    def temporary_file_path(self) -> str:
        return self.file.name


class LimitedUploadHandler(FileUploadHandler):
    """The only upload handler of the workspace upload view (Django's default ones keep going to the end of the
    body before anyone looks at a size). ``limits`` is called once, when parsing starts."""

    def __init__(self, request: Any, limits: Callable[[], UploadLimits]) -> None:
        super().__init__(request)
        self._limits_of = limits
        self.limits: UploadLimits | None = None
        self.total = 0  # file bytes received in this request
        self.part_limit = 0
        self.parts: list[_PartFile] = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        self.limits = self._limits_of()
        if content_length > self.limits.total_bytes + FORM_OVERHEAD:  # refused before a byte of the body is read
            raise too_large(self.limits.total_bytes)

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        assert self.limits is not None
        self.part_limit = self.limits.total_bytes if field_name == ARCHIVES_FIELD else self.limits.file_bytes
        self.file = _PartFile(file_name, content_type, charset, content_type_extra)
        self.parts.append(self.file)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.limits is not None
        self.total += len(raw_data)
        if start + len(raw_data) > self.part_limit:
            self._refuse(
                PyrunError("workspaces:user:file-too-large", path=self.file_name, limit=self.part_limit)
                if self.field_name != ARCHIVES_FIELD
                else too_large(self.part_limit)
            )
        if self.total > self.limits.total_bytes:
            self._refuse(too_large(self.limits.total_bytes))
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> _PartFile:
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def upload_interrupted(self) -> None:
        self.discard()

    def discard(self) -> None:
        for part in self.parts:
            part.close()  # a NamedTemporaryFile: closing deletes it

    def _refuse(self, error: PyrunError) -> None:
        # Not StopUpload: the parser would swallow it and hand the view a form without the file.
        self.discard()
        raise error


# --- ASGI: the first read of the body ----------------------------------------------------------------------


def _upload_route(scope: dict) -> tuple[str, str] | None:
    """``("upload", "")`` or ``("file", path)`` for a request to a workspace upload route, else None."""
    if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
        return None
    try:
        match = resolve(scope["path"].removeprefix(scope.get("root_path", "")))
    except Resolver404:
        return None
    route = (match.url_name, scope["method"])
    if route == ("workspace-upload", "POST"):
        return "upload", ""
    if route == ("workspace-file", "PUT"):
        return "file", match.kwargs.get("path", "")
    return None


def _refusal(route: tuple[str, str], limits: UploadLimits) -> tuple[int, PyrunError]:
    """The most bytes a body sent to ``route`` may have, and the error past them."""
    kind, path = route
    if kind == "upload":
        return limits.total_bytes + FORM_OVERHEAD, too_large(limits.total_bytes)
    return limits.file_bytes, PyrunError("workspaces:user:file-too-large", path=path, limit=limits.file_bytes)


class UploadBodyLimit:
    """ASGI middleware for Django's HTTP app: a body sent to a workspace upload route that is larger than any org
    may send there is refused (413) before Django stores it: by its Content-Length at once, else as it streams."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Any) -> None:
        route = _upload_route(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        limit, error = _refusal(route, await sync_to_async(UploadLimits.largest)())
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _send_error(send, error)
            return
        received, refused, responded = 0, False, False

        async def limited_receive() -> dict:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django's reader takes this for the client leaving: it deletes what it spooled, answers nothing.
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: dict) -> None:
            nonlocal responded
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, tracked_send)
        if refused and not responded:
            await _send_error(send, error)


async def _send_error(send: Any, error: PyrunError) -> None:
    body = json.dumps(error_body(error.id, error.message)).encode()
    # The rest of the body is never read, so the connection cannot carry another request.
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
