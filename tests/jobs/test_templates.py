"""The templates' examples run for real on their backends: a Lithops map on lithops-localhost and a Dask
LocalCluster on dask-local, inside the sandbox, on runtimes built from the templates' specs (uv, PyPI)."""

from __future__ import annotations

import pytest

from tests.jobs.conftest import read_logs, start_run, wait_for
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow


class TestTemplates(TenantTest):
    def run_template(self, template: str, backend: str | None = None) -> tuple[dict, str, str]:
        created = self.api("member").post("/api/v1/workspaces/", {"name": template, "template": template})
        assert created.status_code == 201, created.content
        chosen = {"backend": backend} if backend else {}  # none: the workspace's default, as the Run button does
        job = start_run(self.api("member"), created.json()["id"], "example.py", **chosen)
        done = wait_for(self.api("viewer"), job["id"], timeout=900)  # the first build downloads from PyPI
        chunks, _ = read_logs(self.api("viewer"), job["id"])
        stdout = "".join(c["text"] for c in chunks if c["stream"] == "stdout")
        others = "".join(c["text"] for c in chunks if c["stream"] != "stdout")
        assert done["state"] == "succeeded", (done, stdout, others)
        return done, stdout, others

    def test_lithops_template_on_lithops_localhost(self, jobs_worker):
        done, stdout, others = self.run_template("lithops", "lithops-localhost")
        assert "squares: [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n" in stdout
        assert "sum: 285\n" in stdout
        assert "Lithops localhost (v1)" in others  # the backend's notes
        assert "+ lithops==" in others and "] == ready in" in others  # the runtime build, as it went
        assert done["exit_code"] == 0 and done["error"] is None and done["runtime"]

    def tasks(self, job_id: int) -> list[dict]:
        response = self.api("viewer").get(f"/api/v1/jobs/{job_id}/tasks/", {"page_size": 100})
        assert response.status_code == 200, response.content
        return response.json()["results"]

    def test_dask_template_runs_on_dask_local_by_default_and_shows_its_tasks(self, jobs_worker):
        done, stdout, _ = self.run_template("dask")
        assert "incremented: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" in stdout
        assert "total: 55\n" in stdout
        assert done["backend"] == "dask-local"
        tasks = self.tasks(done["id"])
        # One row per task: the ten inc calls and the total, each finished, drawn from the Dask scheduler.
        computes = [t for t in tasks if t["phase"] == "compute"]
        assert len(computes) == 11 and {t["status"] for t in computes} == {"finished"}
        assert {t["framework"] for t in computes} == {"dask"}

    def test_a_local_cluster_is_watched_whatever_the_backend(self, jobs_worker):
        done, stdout, _ = self.run_template("dask", "lithops-localhost")
        assert "total: 55\n" in stdout and done["backend"] == "lithops-localhost"
        assert len([t for t in self.tasks(done["id"]) if t["phase"] == "compute"]) == 11
