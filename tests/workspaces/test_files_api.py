"""The files API as an IDE or CI client uses it: tree, raw read/write with etags, folders, move, delete, zips."""

from __future__ import annotations

import io
import unicodedata
import zipfile

from tests.workspaces.base import WorkspaceTest, error_id, make_zip


class TestReadWrite(WorkspaceTest):
    def test_a_saved_file_reads_back_with_its_content_type_and_etag(self):
        saved = self.put("main.py", "print('hi')\n")
        assert saved.status_code == 201
        response = self.get("main.py")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"print('hi')\n"
        assert response["Content-Type"] == "text/x-python; charset=utf-8"
        assert response["ETag"] == f'"{saved.json()["etag"]}"' == saved["ETag"]

    def test_binary_files_round_trip_byte_for_byte(self):
        data = bytes(range(256)) * 4
        assert self.put("data/blob.bin", data).status_code == 201
        response = self.get("data/blob.bin")
        assert b"".join(response.streaming_content) == data
        assert response["Content-Type"] == "application/octet-stream"

    def test_unicode_names_keep_their_case_and_nfd_finds_the_nfc_file(self):
        name = "Données/Résumé ✓.TXT"
        assert self.put(name, "ok").json()["path"] == name
        assert self.get(unicodedata.normalize("NFD", name)).status_code == 200
        assert self.get(name.lower()).status_code == 404
        assert self.tree_paths()[name] == "file"

    def test_overwriting_returns_200_and_a_new_etag(self):
        first = self.put("notes.md", "one").json()["etag"]
        response = self.put("notes.md", "two")
        assert response.status_code == 200
        assert response.json()["etag"] != first
        assert b"".join(self.get("notes.md").streaming_content) == b"two"

    def test_reading_a_missing_file_is_404(self):
        response = self.get("nope.py")
        assert response.status_code == 404
        assert error_id(response) == "workspaces:user:no-such-path"

    def test_a_folder_cannot_be_read_as_a_file(self):
        self.put("src/a.py", "")
        response = self.get("src")
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:is-a-folder")

    def test_an_unchanged_file_answers_304_to_if_none_match(self):
        etag = self.put("a.py", "x").json()["etag"]
        assert self.get("a.py", HTTP_IF_NONE_MATCH=f'"{etag}"').status_code == 304

    def test_html_is_served_in_a_sandbox(self):
        self.put("page.html", "<script>alert(1)</script>")
        response = self.get("page.html")
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert "sandbox" in response["Content-Security-Policy"]


class TestOptimisticConcurrency(WorkspaceTest):
    def test_a_stale_etag_is_refused_with_412_and_the_newer_save_survives(self):
        etag = self.put("main.py", "v1").json()["etag"]
        mine = self.put("main.py", "v2 by me", HTTP_IF_MATCH=f'"{etag}"')
        assert mine.status_code == 200
        theirs = self.put("main.py", "v2 by a stale tab", who="admin", HTTP_IF_MATCH=f'"{etag}"')
        assert theirs.status_code == 412
        assert error_id(theirs) == "workspaces:user:etag-mismatch"
        assert mine.json()["etag"] in theirs.json()["error"]["message"]
        assert b"".join(self.get("main.py").streaming_content) == b"v2 by me"

    def test_if_match_on_a_deleted_file_is_412(self):
        etag = self.put("gone.py", "x").json()["etag"]
        self.api("member").delete(self.file_url("gone.py"))
        assert self.put("gone.py", "y", HTTP_IF_MATCH=etag).status_code == 412

    def test_if_none_match_star_only_creates(self):
        assert self.put("new.py", "1", HTTP_IF_NONE_MATCH="*").status_code == 201
        response = self.put("new.py", "2", HTTP_IF_NONE_MATCH="*")
        assert (response.status_code, error_id(response)) == (412, "workspaces:user:exists-precondition")


class TestTree(WorkspaceTest):
    def test_the_tree_lists_files_and_folders_with_size_mtime_and_etag(self):
        etag = self.put("src/pkg/mod.py", "12345").json()["etag"]
        self.put("README.md", "abc")
        tree = self.api("viewer").get(self.url("files/")).json()
        entries = {e["path"]: e for e in tree["entries"]}
        assert list(entries) == ["README.md", "src", "src/pkg", "src/pkg/mod.py"]
        assert entries["src/pkg/mod.py"]["size"] == 5
        assert entries["src/pkg/mod.py"]["etag"] == etag
        assert entries["src/pkg/mod.py"]["mtime"]
        assert entries["src"] == {**entries["src"], "type": "dir", "size": 5, "etag": None}
        assert tree["size"] == 8

    def test_a_subfolder_tree_is_relative_to_it(self):
        self.put("src/a.py", "")
        self.put("b.py", "")
        tree = self.api("member").get(self.url("files/") + "?path=src").json()
        assert [e["path"] for e in tree["entries"]] == ["a.py"]


class TestFoldersMoveDelete(WorkspaceTest):
    def test_mkdir_creates_nested_folders_once(self):
        response = self.api("member").post(self.file_url("data/raw") + "?op=mkdir")
        assert response.status_code == 201
        assert self.tree_paths() == {"data": "dir", "data/raw": "dir"}
        again = self.api("member").post(self.file_url("data/raw") + "?op=mkdir")
        assert (again.status_code, error_id(again)) == (409, "workspaces:user:exists")

    def test_an_unknown_operation_is_400(self):
        response = self.api("member").post(self.file_url("x") + "?op=chmod")
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-op")

    def test_move_renames_and_moves_into_new_folders(self):
        self.put("a.py", "content")
        response = self.api("member").post(self.url("move/"), {"from": "a.py", "to": "lib/b.py"}, format="json")
        assert response.status_code == 200
        assert response.json()["path"] == "lib/b.py"
        assert self.tree_paths() == {"lib": "dir", "lib/b.py": "file"}
        assert b"".join(self.get("lib/b.py").streaming_content) == b"content"

    def test_move_never_overwrites(self):
        self.put("a.py", "a")
        self.put("b.py", "b")
        response = self.api("member").post(self.url("move/"), {"from": "a.py", "to": "b.py"}, format="json")
        assert (response.status_code, error_id(response)) == (409, "workspaces:user:exists")
        assert b"".join(self.get("b.py").streaming_content) == b"b"

    def test_a_folder_cannot_move_into_itself(self):
        self.put("src/a.py", "")
        response = self.api("member").post(self.url("move/"), {"from": "src", "to": "src/inner"}, format="json")
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:move-into-itself")

    def test_delete_removes_a_file_and_a_folder_with_its_contents(self):
        self.put("keep.py", "")
        self.put("src/a.py", "")
        self.put("src/deep/b.py", "")
        assert self.api("member").delete(self.file_url("src")).status_code == 204
        assert self.api("member").delete(self.file_url("keep.py")).status_code == 204
        assert self.tree_paths() == {}
        assert self.api("member").delete(self.file_url("keep.py")).status_code == 404


class TestUploadAndArchive(WorkspaceTest):
    def test_several_files_upload_into_a_folder(self):
        files = [io.BytesIO(b"alpha"), io.BytesIO(b"\x00\x01")]
        files[0].name, files[1].name = "a.txt", "b.bin"
        response = self.api("member").post(self.url("upload/"), {"path": "inbox", "files": files}, format="multipart")
        assert response.status_code == 201
        assert sorted(e["path"] for e in response.json()) == ["inbox/a.txt", "inbox/b.bin"]
        assert b"".join(self.get("inbox/b.bin").streaming_content) == b"\x00\x01"

    def test_a_zip_is_unpacked_into_the_folder(self):
        archive = make_zip({"proj/": b"", "proj/main.py": b"print(1)", "proj/data/x.csv": b"a,b\n"})
        response = self.api("member").post(self.url("upload/"), {"archives": [archive]}, format="multipart")
        assert response.status_code == 201
        assert self.tree_paths() == {
            "proj": "dir", "proj/data": "dir", "proj/data/x.csv": "file", "proj/main.py": "file",
        }  # fmt: skip

    def test_download_then_upload_recreates_the_workspace(self):
        self.put("main.py", "print(1)")
        self.put("src/util/helpers.py", "x = 1")
        self.api("member").post(self.file_url("empty/folder") + "?op=mkdir")
        download = self.api("viewer").get(self.url("archive/"))
        assert download.status_code == 200
        assert download["Content-Type"] == "application/zip"
        assert 'filename="analysis.zip"' in download["Content-Disposition"]
        zipped = io.BytesIO(b"".join(download.streaming_content))
        zipped.name = "analysis.zip"
        copy = self.api("member").post("/api/v1/workspaces/", {"name": "Copy"}).json()["id"]
        self.api("member").post(f"/api/v1/workspaces/{copy}/upload/", {"archives": [zipped]}, format="multipart")
        assert self.tree_paths() == {
            e["path"]: e["type"] for e in self.api("member").get(f"/api/v1/workspaces/{copy}/files/").json()["entries"]
        }

    def test_a_folder_downloads_with_paths_relative_to_it(self):
        self.put("src/a.py", "a")
        self.put("other.py", "")
        download = self.api("member").get(self.url("archive/") + "?path=src")
        names = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()
        assert names == ["a.py"]
