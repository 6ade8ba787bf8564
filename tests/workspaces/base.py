"""A tenant test with one workspace of the org, and helpers to call its files API."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from tests.tenants import TenantTest
from workspaces.models import Workspace


class WorkspaceTest(TenantTest):
    template = "empty"
    workspace: Workspace

    @pytest.fixture(autouse=True)
    def _workspace(self, _tenants) -> None:
        response = self.api("member").post("/api/v1/workspaces/", {"name": "Analysis", "template": self.template})
        assert response.status_code == 201, response.content
        self.workspace = Workspace.objects.get(pk=response.json()["id"])

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/workspaces/{self.workspace.pk}/{suffix}"

    def file_url(self, path: str) -> str:
        return self.url("files/" + quote(path))

    def put(self, path: str, body: bytes | str, who: str = "member", **headers):
        data = body.encode() if isinstance(body, str) else body
        return self.api(who).generic("PUT", self.file_url(path), data, "application/octet-stream", **headers)

    def get(self, path: str, who: str = "member", **headers):
        return self.api(who).get(self.file_url(path), **headers)

    def tree_paths(self, client: APIClient | None = None) -> dict[str, str]:
        entries = (client or self.api("member")).get(self.url("files/")).json()["entries"]
        return {entry["path"]: entry["type"] for entry in entries}


def make_zip(entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # S_IFLNK | 0777, as `zip --symlinks` writes it
            archive.writestr(info, target)
    buffer.seek(0)
    buffer.name = "upload.zip"
    return buffer


def error_id(response) -> str:
    return response.json()["error"]["id"]
