"""Upload limits hold while the body streams in: a body over a limit is refused (413) at the chunk that crosses it,
the rest is never read into a file, and nothing of it stays in the workspace or the spool folder."""

from __future__ import annotations

import asyncio
import io
import os

import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from django.core.files.uploadhandler import FileUploadHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test.client import FakePayload

from tests.workspaces.base import WorkspaceTest, error_id, make_zip
from workspaces.uploads import FORM_OVERHEAD, LimitedUploadHandler, UploadBodyLimit

FILE_LIMIT = 200_000
QUOTA = 1_000_000
CHUNK = FileUploadHandler.chunk_size  # what the multipart parser hands a handler at a time


def named(data: bytes, name: str) -> io.BytesIO:
    fileobj = io.BytesIO(data)
    fileobj.name = name
    return fileobj


@pytest.fixture
def handler_bytes(monkeypatch) -> list[int]:
    """The size of every chunk the upload handler received."""
    seen: list[int] = []
    receive = LimitedUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        seen.append(len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(LimitedUploadHandler, "receive_data_chunk", counting)
    return seen


@pytest.fixture
def body_read(monkeypatch) -> list[int]:
    """Bytes of the request body the server read (the test client's body stream)."""
    total = [0]
    read = FakePayload.read

    def counting(self, size=-1):
        data = read(self, size)
        total[0] += len(data)
        return data

    monkeypatch.setattr(FakePayload, "read", counting)
    return total


class TestMultipartUploads(WorkspaceTest):
    @pytest.fixture(autouse=True)
    def _limits(self, _workspace, settings):
        self.t.org.max_file_bytes = FILE_LIMIT
        self.t.org.max_workspace_bytes = QUOTA
        self.t.org.save()
        self.spool = settings.WORKSPACES_ROOT / ".incoming"

    def upload(self, client=None, headers: dict | None = None, **fields):
        client = client or self.api("member")
        return client.post(self.url("upload/"), {"path": "in", **fields}, format="multipart", **(headers or {}))

    def assert_nothing_left(self) -> None:
        assert self.tree_paths() == {}
        assert not (self.spool.exists() and list(self.spool.iterdir()))

    def test_a_file_over_the_limit_is_refused_while_it_streams(self, handler_bytes, body_read):
        big = QUOTA  # within what Content-Length may announce: the limit must hold while reading
        response = self.upload(files=[named(os.urandom(big), "big.bin")])
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:file-too-large")
        assert f"{FILE_LIMIT} bytes" in response.json()["error"]["message"]
        # Stopped at the chunk that crossed the limit: neither handed on nor read much further.
        assert 0 < sum(handler_bytes) <= FILE_LIMIT + CHUNK
        assert body_read[0] <= FILE_LIMIT + 4 * CHUNK < big
        self.assert_nothing_left()

    def test_files_together_over_the_quota_are_refused_while_they_stream(self, handler_bytes):
        files = [named(os.urandom(FILE_LIMIT - 1000), f"f{i}.bin") for i in range(8)]  # each fits, 1.6 MB together
        response = self.upload(files=files)
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:upload-too-large")
        assert f"{QUOTA} bytes" in response.json()["error"]["message"]
        assert 0 < sum(handler_bytes) <= QUOTA + CHUNK
        self.assert_nothing_left()

    def test_a_content_length_over_the_quota_is_refused_before_reading_the_body(self, handler_bytes, body_read):
        response = self.upload(files=[named(bytes(QUOTA + FORM_OVERHEAD), "huge.bin")])
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:upload-too-large")
        assert handler_bytes == [] and body_read[0] == 0
        self.assert_nothing_left()

    def test_files_within_the_limits_are_stored(self, handler_bytes):
        data = os.urandom(FILE_LIMIT)
        response = self.upload(files=[named(data, "exact.bin"), named(b"print(1)\n", "main.py")])
        assert response.status_code == 201, response.content
        assert self.get("in/exact.bin").getvalue() == data
        assert set(self.tree_paths()) == {"in", "in/exact.bin", "in/main.py"}
        assert not list(self.spool.iterdir())

    def test_a_zip_may_be_larger_than_a_file_but_not_than_the_quota(self):
        members = {"a.bin": os.urandom(FILE_LIMIT - 1000), "b.bin": os.urandom(FILE_LIMIT - 1000)}
        zipped = make_zip(members)
        assert FILE_LIMIT < len(zipped.getvalue()) < QUOTA
        response = self.upload(archives=[zipped])
        assert response.status_code == 201, response.content
        assert {"in/a.bin", "in/b.bin"} <= set(self.tree_paths())

        self.t.org.max_workspace_bytes = FILE_LIMIT
        self.t.org.save()
        response = self.upload(archives=[make_zip(members)])
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:upload-too-large")

    def test_a_browser_session_is_limited_too_while_its_csrf_check_reads_the_form(self, handler_bytes, settings):
        # SessionAuthentication's CSRF check reads request.POST, which parses the upload before the view runs.
        client = self.t.session_client("member")
        token = client.cookies[settings.CSRF_COOKIE_NAME] = _get_new_csrf_string()
        response = self.upload(
            client, files=[named(os.urandom(3 * FILE_LIMIT), "big.bin")], headers={"HTTP_X_CSRFTOKEN": token}
        )
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:file-too-large")
        assert 0 < sum(handler_bytes) <= FILE_LIMIT + CHUNK
        self.assert_nothing_left()
        response = self.upload(client, files=[named(b"ok", "small.txt")], headers={"HTTP_X_CSRFTOKEN": token})
        assert response.status_code == 201, response.content

    def test_an_outsider_gets_404_not_a_size_error(self):
        response = self.upload(self.api("outsider"), files=[named(os.urandom(3 * FILE_LIMIT), "big.bin")])
        assert response.status_code == 404


class TestAsgiBodyLimit(WorkspaceTest):
    """Under ASGI, Django reads the whole body into a temporary file before any view runs: the middleware stops
    that read at the most any org may send to the upload routes."""

    @pytest.fixture(autouse=True)
    def _limits(self, _workspace, settings):
        settings.PYRUN_LIMITS = {**settings.PYRUN_LIMITS, "max_file_bytes": FILE_LIMIT, "max_workspace_bytes": QUOTA}
        self.app = UploadBodyLimit(get_asgi_application())
        # As Django's test client does: a request must not close the test's database connection.
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
        yield
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)

    def call(self, method: str, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
        pulled: list[int] = []
        sent: list[dict] = []

        async def receive() -> dict:
            if len(pulled) < len(chunks):
                pulled.append(len(chunks[len(pulled)]))
                return {"type": "http.request", "body": chunks[len(pulled) - 1], "more_body": len(pulled) < len(chunks)}
            await asyncio.Event().wait()  # a client waiting for the answer (Django cancels this when it has sent it)

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(b"host", b"testserver"), (b"authorization", f"Token {self.t.keys['member']}".encode()),
                        *headers],
            "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
        }  # fmt: skip
        async_to_sync(self.app)(scope, receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return status, body, pulled

    def test_a_content_length_over_the_limit_is_refused_before_reading(self):
        status, body, pulled = self.call(
            "PUT", self.file_url("big.bin"), [bytes(CHUNK)] * 10, [(b"content-length", str(FILE_LIMIT + 1).encode())]
        )
        assert (status, pulled) == (413, [])
        assert b"workspaces:user:file-too-large" in body

    def test_a_streamed_body_is_cut_at_the_limit(self):
        chunks = [bytes(CHUNK)] * 100  # 6.5 MB, sent without a Content-Length
        status, body, pulled = self.call("PUT", self.file_url("big.bin"), chunks, [])
        assert status == 413 and b"workspaces:user:file-too-large" in body
        assert sum(pulled) <= FILE_LIMIT + CHUNK
        status, body, pulled = self.call(
            "POST", self.url("upload/"), chunks, [(b"content-type", b"multipart/form-data; boundary=x")]
        )
        assert status == 413 and b"workspaces:user:upload-too-large" in body
        assert sum(pulled) <= QUOTA + FORM_OVERHEAD + CHUNK
        assert self.tree_paths() == {}

    def test_a_body_within_the_limit_reaches_the_view(self):
        status, body, _ = self.call("PUT", self.file_url("ok.txt"), [b"hello ", b"world"], [(b"content-length", b"11")])
        assert status == 201, body
        assert self.get("ok.txt").getvalue() == b"hello world"
