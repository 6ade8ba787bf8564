"""The runtimes API and the workspace's runtime endpoint and status, with builds run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from runtimes.models import Runtime
from tests.runtimes.conftest import IDNA, MALFORMED, SIX, UNKNOWN, make_workspace, write_env
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow


class TestRuntimesApi(TenantTest):
    @pytest.fixture(autouse=True)
    def _workspace(self, _tenants, inline_builds) -> None:
        self.workspace = make_workspace(self.t, SIX)
        self.built = inline_builds

    def build(self, who: str = "member", workspace=None):
        return self.api(who).post(f"/api/v1/workspaces/{(workspace or self.workspace).pk}/runtime/")

    def test_workspace_runtime_builds_then_reuses(self):
        first = self.build()
        assert first.status_code == 200, first.content  # built inline: ready when the answer comes
        body = first.json()
        assert body["state"] == "ready" and body["builder"] == "uv" and body["kind"] == "conda"
        assert body["artifacts"] == {"prefix": f"runtime-{body['id']}", "python": f"python {body['python_version']}",
                                     "layer_arns": [], "image_uri": ""}  # fmt: skip
        assert str(settings.DATA_DIR) not in first.content.decode()  # no host path (the prefix is under it)
        assert [p["name"] for p in body["packages"]] == ["six"]
        assert body["timings"]["build_seconds"] > 0
        assert body["created_by"] == "member@example.com"
        again = self.build(who="admin")
        assert again.status_code == 200 and again.json()["id"] == body["id"]
        assert len(self.built) == 1

    def test_detail_list_filters_and_log(self):
        runtime_id = self.build().json()["id"]
        write_env(self.workspace, UNKNOWN)
        failed = self.build().json()
        assert failed["state"] == "failed"
        assert failed["error"]["id"] == "runtime:user:pip-failed"
        assert str(settings.DATA_DIR) not in str(failed)  # build output names the server's folders: not shown
        client = self.api("viewer")
        listed = client.get("/api/v1/runtimes/").json()
        assert {row["id"] for row in listed["results"]} == {runtime_id, failed["id"]}
        assert "packages" not in listed["results"][0]
        only_ready = client.get("/api/v1/runtimes/", {"state": "ready"}).json()["results"]
        assert [row["id"] for row in only_ready] == [runtime_id]
        assert client.get("/api/v1/runtimes/", {"kind": "docker"}).json()["results"] == []
        detail = client.get(f"/api/v1/runtimes/{runtime_id}/").json()
        assert detail["state"] == "ready" and detail["timings"]["finished_at"]
        log = client.get(f"/api/v1/runtimes/{runtime_id}/log/").json()
        seqs = [line["seq"] for line in log["lines"]]
        assert seqs == list(range(1, len(seqs) + 1)) and log["next_after"] == seqs[-1] and not log["more"]
        tail = client.get(f"/api/v1/runtimes/{runtime_id}/log/", {"after": seqs[-3]}).json()
        assert [line["seq"] for line in tail["lines"]] == seqs[-2:]
        page = client.get(f"/api/v1/runtimes/{runtime_id}/log/", {"after": 0, "limit": 2}).json()
        assert [line["seq"] for line in page["lines"]] == [1, 2] and page["more"]
        assert client.get(f"/api/v1/runtimes/{runtime_id}/log/", {"after": -1}).status_code == 400

    def test_malformed_yaml_is_a_failed_runtime_with_the_line_in_detail_and_log(self):
        write_env(self.workspace, MALFORMED)
        response = self.build()
        assert response.status_code == 200
        body = response.json()
        assert body["state"] == "failed" and body["error"]["id"] == "runtime:user:bad-yaml"
        assert "line 6" in body["error"]["message"]
        detail = self.api("viewer").get(f"/api/v1/runtimes/{body['id']}/").json()
        assert "line 6" in detail["error"]["message"]
        log = self.api("viewer").get(f"/api/v1/runtimes/{body['id']}/log/").json()
        assert any("line 6" in line["text"] for line in log["lines"])
        workspace = self.api("viewer").get(f"/api/v1/workspaces/{self.workspace.pk}/").json()
        assert workspace["runtime_status"] == "failed" and workspace["runtime"]["id"] == body["id"]

    def test_workspace_detail_shows_runtime_status(self):
        url = f"/api/v1/workspaces/{self.workspace.pk}/"
        assert self.api("viewer").get(url).json()["runtime_status"] == "none"
        assert self.api("viewer").get(url).json()["runtime"] is None
        runtime_id = self.build().json()["id"]
        shown = self.api("viewer").get(url).json()
        assert shown["runtime_status"] == "ready"
        assert shown["runtime"] == {"id": runtime_id, "state": "ready", "error": None}
        write_env(self.workspace, IDNA)
        shown = self.api("viewer").get(url).json()
        assert shown["runtime_status"] == "outdated" and shown["runtime"]["id"] == runtime_id
        listed = self.api("viewer").get("/api/v1/workspaces/").json()["results"]
        assert {row["runtime_status"] for row in listed} == {"outdated"}
        new_id = self.build().json()["id"]
        assert self.api("viewer").get(url).json()["runtime"]["id"] == new_id

    def test_rebuild_and_delete(self):
        runtime_id = self.build().json()["id"]
        rebuilt = self.api("member").post(f"/api/v1/runtimes/{runtime_id}/rebuild/")
        assert rebuilt.status_code == 202
        assert Runtime.objects.get(pk=runtime_id).attempts == 2
        build_dir = Runtime.objects.get(pk=runtime_id).build_dir
        deleted = self.api("member").delete(f"/api/v1/runtimes/{runtime_id}/")
        assert deleted.status_code == 204
        assert not Runtime.objects.filter(pk=runtime_id).exists() and not build_dir.exists()

    def test_cancel_of_a_finished_build_is_a_conflict(self):
        runtime_id = self.build().json()["id"]
        response = self.api("member").post(f"/api/v1/runtimes/{runtime_id}/cancel/")
        assert response.status_code == 409
        assert response.json()["error"]["id"] == "runtime:user:not-building"

    def test_viewer_reads_but_cannot_build_rebuild_cancel_or_delete(self):
        runtime_id = self.build().json()["id"]
        viewer = self.api("viewer")
        assert viewer.get(f"/api/v1/runtimes/{runtime_id}/").status_code == 200
        for response in (
            self.build(who="viewer"),
            viewer.post(f"/api/v1/runtimes/{runtime_id}/rebuild/"),
            viewer.post(f"/api/v1/runtimes/{runtime_id}/cancel/"),
            viewer.delete(f"/api/v1/runtimes/{runtime_id}/"),
        ):
            assert response.status_code == 403, response.content
            assert response.json()["error"]["id"] == "auth:user:role-required"
        assert Runtime.objects.get(pk=runtime_id).attempts == 1

    def test_other_org_gets_404_and_sees_nothing(self):
        runtime_id = self.build().json()["id"]
        outsider = self.api("outsider")
        assert outsider.get("/api/v1/runtimes/").json()["results"] == []
        for method, suffix in (("get", ""), ("get", "log/"), ("post", "rebuild/"), ("post", "cancel/"), ("delete", "")):
            response = getattr(outsider, method)(f"/api/v1/runtimes/{runtime_id}/{suffix}")
            assert response.status_code == 404, (method, suffix)
        assert outsider.post(f"/api/v1/workspaces/{self.workspace.pk}/runtime/").status_code == 404

    def test_the_same_spec_in_another_org_is_its_own_runtime(self):
        ours = self.build().json()
        from workspaces.services import create_workspace

        theirs_ws = create_workspace(org=self.t.other_org, user=self.t.outsider, name="Theirs", template="python")
        write_env(theirs_ws, SIX)
        theirs = self.build(who="outsider", workspace=theirs_ws).json()
        assert theirs["id"] != ours["id"] and theirs["spec_hash"] == ours["spec_hash"]

    def test_a_symlinked_spec_is_refused(self, tmp_path):
        target = tmp_path / "elsewhere.yml"
        target.write_text(SIX)
        env = Path(self.workspace.path) / ".pyrun" / "environment.yml"
        env.unlink()
        env.symlink_to(target)
        response = self.build()
        assert response.status_code == 400
        assert response.json()["error"]["id"] == "runtime:user:spec-unreadable"
