"""The templates' examples run for real on their backends: a Lithops map on lithops-localhost and a Dask
LocalCluster on dask-local, inside the sandbox, on runtimes built from the templates' specs (uv, PyPI)."""

from __future__ import annotations

import pytest

from tests.jobs.conftest import read_logs, start_run, wait_for
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow


class TestTemplates(TenantTest):
    def run_template(self, template: str, backend: str) -> tuple[dict, str, str]:
        created = self.api("member").post("/api/v1/workspaces/", {"name": template, "template": template})
        assert created.status_code == 201, created.content
        job = start_run(self.api("member"), created.json()["id"], "example.py", backend=backend)
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

    def test_dask_template_on_dask_local(self, jobs_worker):
        _, stdout, _ = self.run_template("dask", "dask-local")
        assert "incremented: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" in stdout
        assert "total: 55\n" in stdout
