"""Workspaces as an org sees them: create from a template, list, rename, delete; roles and other orgs."""

from __future__ import annotations

import pytest

from templates_lib.registry import TEMPLATES
from tests.tenants import TenantTest
from tests.workspaces.base import WorkspaceTest, error_id
from workspaces.models import Workspace


class TestWorkspaceCrud(TenantTest):
    def test_creating_a_workspace_returns_it_with_its_template_and_creator(self):
        response = self.api("member").post("/api/v1/workspaces/", {"name": "My Analysis", "template": "python"})
        assert response.status_code == 201
        body = response.json()
        assert (body["name"], body["slug"], body["template"], body["created_by"]) == (
            "My Analysis", "my-analysis", "python", "member@example.com",
        )  # fmt: skip
        assert body["size"] == TEMPLATES["python"].size() > 0
        assert Workspace.objects.get(pk=body["id"]).path.is_dir()

    def test_names_may_repeat_but_slugs_stay_unique(self):
        first = self.api("member").post("/api/v1/workspaces/", {"name": "Demo"}).json()
        second = self.api("member").post("/api/v1/workspaces/", {"name": "Demo"}).json()
        assert (first["slug"], second["slug"]) == ("demo", "demo-2")
        assert first["template"] == "empty"

    def test_an_unknown_template_is_a_field_error(self):
        response = self.api("member").post("/api/v1/workspaces/", {"name": "X", "template": "cobol"})
        assert response.status_code == 400
        assert "template" in response.json()["error"]["fields"]
        assert not Workspace.objects.exists()

    def test_list_shows_only_the_orgs_workspaces(self):
        self.api("member").post("/api/v1/workspaces/", {"name": "Ours"})
        self.api("outsider").post("/api/v1/workspaces/", {"name": "Theirs"})
        names = [w["name"] for w in self.api("viewer").get("/api/v1/workspaces/").json()["results"]]
        assert names == ["Ours"]

    def test_rename_keeps_the_slug_and_the_template(self):
        created = self.api("member").post("/api/v1/workspaces/", {"name": "Old", "template": "dask"}).json()
        response = self.api("member").patch(
            f"/api/v1/workspaces/{created['id']}/", {"name": "New", "template": "python"}
        )
        assert response.status_code == 200
        assert (response.json()["name"], response.json()["slug"], response.json()["template"]) == ("New", "old", "dask")

    def test_delete_removes_the_folder(self, django_capture_on_commit_callbacks):
        created = self.api("member").post("/api/v1/workspaces/", {"name": "Doomed", "template": "python"}).json()
        path = Workspace.objects.get(pk=created["id"]).path
        with django_capture_on_commit_callbacks(execute=True):
            assert self.api("member").delete(f"/api/v1/workspaces/{created['id']}/").status_code == 204
        assert not path.exists()
        assert self.api("member").get(f"/api/v1/workspaces/{created['id']}/").status_code == 404

    def test_deleting_the_org_removes_its_workspace_folders(self, django_capture_on_commit_callbacks):
        created = self.api("member").post("/api/v1/workspaces/", {"name": "Doomed"}).json()
        path = Workspace.objects.get(pk=created["id"]).path
        with django_capture_on_commit_callbacks(execute=True):
            assert self.api("owner").delete(f"/api/v1/orgs/{self.t.org.id}/").status_code == 204
        assert not path.exists()


class TestRolesAndTenancy(WorkspaceTest):
    def test_viewer_reads_but_cannot_write(self):
        self.put("main.py", "print(1)")
        assert self.get("main.py", who="viewer").status_code == 200
        assert self.api("viewer").get(self.url("files/")).status_code == 200
        assert self.api("viewer").get(self.url("archive/")).status_code == 200
        for response in (
            self.put("main.py", "hacked", who="viewer"),
            self.api("viewer").delete(self.file_url("main.py")),
            self.api("viewer").post(self.file_url("dir") + "?op=mkdir"),
            self.api("viewer").post(self.url("move/"), {"from": "main.py", "to": "x.py"}, format="json"),
            self.api("viewer").post(self.url("upload/"), {}, format="multipart"),
            self.api("viewer").patch(self.url(), {"name": "Mine"}),
            self.api("viewer").delete(self.url()),
            self.api("viewer").post("/api/v1/workspaces/", {"name": "New"}),
        ):
            assert response.status_code == 403, response.content
            assert error_id(response) == "auth:user:role-required"
        assert b"".join(self.get("main.py").streaming_content) == b"print(1)"

    @pytest.mark.parametrize("suffix", ["", "files/", "files/main.py", "archive/", "config/"])
    def test_another_orgs_workspace_is_404(self, suffix):
        self.put("main.py", "print(1)")
        response = self.api("outsider").get(self.url(suffix))
        assert (response.status_code, error_id(response)) == (404, "api:user:not-found")

    def test_another_org_cannot_write_into_the_workspace(self):
        response = self.put("planted.py", "x", who="outsider")
        assert response.status_code == 404
        assert self.tree_paths() == {}
