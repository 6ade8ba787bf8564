"""Paths, symlinks and zips that try to leave the workspace are refused with 400, and nothing lands outside."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from pyrun_web.errors import PyrunError
from tests.workspaces.base import WorkspaceTest, error_id, make_zip


@pytest.fixture
def outside(tmp_path):
    """A folder next to nothing of the workspace's, with a secret the attacks try to read or overwrite."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("top secret")
    return folder


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


class TestTraversal(WorkspaceTest):
    @pytest.fixture(autouse=True)
    def _nothing_lands_next_to_the_workspace(self, _workspace, settings):
        def others():
            return {p for p in settings.WORKSPACES_ROOT.rglob("*") if p.is_file() and ".locks" not in p.parts} - set(
                self.workspace.path.rglob("*")
            )

        before = others()
        yield
        assert others() == before

    @pytest.mark.parametrize(
        ("raw_url_path", "reason"),
        [
            ("../x", "'..'"),
            ("%2e%2e/x", "'..'"),
            ("a/%2E%2E/%2e%2e/x", "'..'"),
            ("/etc/passwd", "absolute"),
            ("..%5C..%5Cx", "backslash"),
            ("a%5Cb", "backslash"),
            ("a%00.py", "NUL"),
        ],
    )
    def test_escaping_paths_are_refused_for_write_and_read(self, raw_url_path, reason):
        url = self.url("files/") + raw_url_path
        client = self.api("member")
        for response in (
            client.generic("PUT", url, b"pwned", "application/octet-stream"),
            client.get(url),
            client.delete(url),
            client.post(url + "?op=mkdir"),
        ):
            assert response.status_code == 400, response.content
            assert error_id(response) == "workspaces:user:bad-path"
            assert reason in response.json()["error"]["message"]
        assert self.tree_paths() == {}

    def test_move_and_upload_targets_are_checked_too(self):
        self.put("a.py", "x")
        client = self.api("member")
        moved = client.post(self.url("move/"), {"from": "a.py", "to": "../../a.py"}, format="json")
        assert (moved.status_code, error_id(moved)) == (400, "workspaces:user:bad-path")
        upload = io.BytesIO(b"x")
        upload.name = "b.py"
        uploaded = client.post(self.url("upload/"), {"path": "../..", "files": [upload]}, format="multipart")
        assert (uploaded.status_code, error_id(uploaded)) == (400, "workspaces:user:bad-path")
        assert self.tree_paths() == {"a.py": "file"}


class TestSymlinks(WorkspaceTest):
    def test_a_symlinked_folder_leading_outside_cannot_be_read_or_written(self, outside):
        (self.workspace.path / "escape").symlink_to(outside)
        before = snapshot(outside)
        for response in (
            self.get("escape/secret.txt"),
            self.put("escape/secret.txt", "overwritten"),
            self.put("escape/new.txt", "planted"),
            self.api("member").post(self.file_url("escape/sub") + "?op=mkdir"),
            self.api("member").delete(self.file_url("escape/secret.txt")),
            self.api("member").get(self.url("archive/") + "?path=escape"),
        ):
            assert response.status_code == 400, response.content
            assert "outside the workspace" in response.json()["error"]["message"]
        assert snapshot(outside) == before

    def test_a_symlinked_file_leading_outside_cannot_be_read_or_written(self, outside):
        (self.workspace.path / "notes.txt").symlink_to(outside / "secret.txt")
        assert self.get("notes.txt").status_code == 400
        assert self.put("notes.txt", "overwritten").status_code == 400
        assert (outside / "secret.txt").read_text() == "top secret"

    def test_deleting_an_escaping_symlink_removes_the_link_not_its_target(self, outside):
        (self.workspace.path / "escape").symlink_to(outside)
        assert self.api("member").delete(self.file_url("escape")).status_code == 204
        assert not (self.workspace.path / "escape").is_symlink()
        assert (outside / "secret.txt").read_text() == "top secret"

    def test_a_symlink_inside_the_workspace_works(self):
        self.put("real/data.txt", "inside")
        (self.workspace.path / "alias").symlink_to(self.workspace.path / "real")
        assert b"".join(self.get("alias/data.txt").streaming_content) == b"inside"
        assert self.tree_paths()["alias"] == "symlink"

    def test_a_fifo_made_in_the_terminal_is_listed_but_never_read(self):
        # Opening a FIFO for reading would block a web worker until someone writes to it.
        os.mkfifo(self.workspace.path / "pipe")
        response = self.get("pipe")
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-path")
        assert self.tree_paths() == {"pipe": "other"}
        download = self.api("member").get(self.url("archive/"))
        assert zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist() == []

    def test_archives_leave_out_symlinks(self, outside):
        self.put("main.py", "x")
        (self.workspace.path / "escape").symlink_to(outside)
        (self.workspace.path / "secret-link").symlink_to(outside / "secret.txt")
        download = self.api("member").get(self.url("archive/"))
        assert zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist() == ["main.py"]


class TestZipSafety(WorkspaceTest):
    def upload(self, archive):
        return self.api("member").post(self.url("upload/"), {"path": "in", "archives": [archive]}, format="multipart")

    @pytest.mark.parametrize("entry", ["../evil.py", "../../../../tmp/evil.py", "/etc/cron.d/evil", "..\\..\\evil.py"])
    def test_zip_slip_entries_refuse_the_whole_zip(self, entry, settings):
        response = self.upload(make_zip({"ok.py": b"fine", entry: b"pwned"}))
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:zip-unsafe-entry")
        assert repr(entry) in response.json()["error"]["message"]
        assert self.tree_paths() == {}
        assert not list(settings.WORKSPACES_ROOT.rglob("evil.py"))

    def test_symlink_entries_refuse_the_whole_zip(self, outside):
        response = self.upload(make_zip({"ok.py": b"fine"}, symlinks={"link": str(outside / "secret.txt")}))
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:zip-unsafe-entry")
        assert "symbolic links" in response.json()["error"]["message"]
        assert self.tree_paths() == {}

    def test_an_entry_that_expands_too_much_is_a_bomb(self):
        response = self.upload(make_zip({"zeros.bin": bytes(4 * 1024 * 1024)}))
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:zip-bomb")
        assert self.tree_paths() == {}

    def test_too_many_entries_is_a_bomb(self):
        response = self.upload(make_zip({f"f{i}": b"" for i in range(10_001)}))
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:zip-bomb")
        assert "10000 entries" in response.json()["error"]["message"]

    def test_a_zip_expanding_beyond_the_quota_is_413(self):
        self.t.org.max_workspace_bytes = 1000
        self.t.org.save()
        # Small in the upload (a larger zip is refused while it streams), large once unpacked.
        response = self.upload(make_zip({"a.bin": bytes(600), "b.bin": bytes(600)}))
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:quota-exceeded")
        assert "limit of 1000 bytes" in response.json()["error"]["message"]
        assert self.tree_paths() == {}

    def test_a_file_that_is_not_a_zip_is_400(self):
        junk = io.BytesIO(b"not a zip at all")
        junk.name = "junk.zip"
        response = self.upload(junk)
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-zip")


class TestQuotas(WorkspaceTest):
    @pytest.fixture(autouse=True)
    def _small_limits(self, _workspace):
        self.t.org.max_file_bytes = 100
        self.t.org.max_workspace_bytes = 250
        self.t.org.save()

    def test_an_oversize_file_is_413_with_the_limit(self):
        response = self.put("big.bin", bytes(101))
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:file-too-large")
        assert "100 bytes" in response.json()["error"]["message"]
        assert self.tree_paths() == {}

    def test_a_streamed_body_is_stopped_at_the_limit_while_reading(self, settings):
        # Chunked uploads carry no Content-Length: the limit must hold while the body streams in.
        with pytest.raises(PyrunError) as refused:
            self.workspace.files.write("big.bin", iter([bytes(60), bytes(60)]))
        assert refused.value.id == "workspaces:user:file-too-large"
        assert self.tree_paths() == {}
        assert not list((settings.WORKSPACES_ROOT / ".incoming").iterdir())

    def test_filling_the_workspace_beyond_its_quota_is_413_with_the_limit(self):
        assert self.put("a.bin", bytes(100)).status_code == 201
        assert self.put("b.bin", bytes(100)).status_code == 201
        response = self.put("c.bin", bytes(100))
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:quota-exceeded")
        assert "limit of 250 bytes" in response.json()["error"]["message"]
        assert set(self.tree_paths()) == {"a.bin", "b.bin"}

    def test_replacing_a_file_counts_only_the_difference(self):
        self.put("a.bin", bytes(100))
        self.put("b.bin", bytes(100))
        assert self.put("a.bin", bytes(50)).status_code == 200
        assert self.put("c.bin", bytes(50)).status_code == 201

    def test_an_upload_that_does_not_fit_writes_nothing(self):
        assert self.put("old.bin", bytes(100)).status_code == 201
        files = [io.BytesIO(bytes(90)) for _ in range(2)]  # fits the quota alone, not with what is there
        for i, f in enumerate(files):
            f.name = f"{i}.bin"
        response = self.api("member").post(self.url("upload/"), {"files": files}, format="multipart")
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:quota-exceeded")
        assert self.tree_paths() == {"old.bin": "file"}
