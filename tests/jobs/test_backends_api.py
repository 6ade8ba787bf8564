"""The list of executor backends the IDE offers: the built-in ones and the operator's, from the platform's one list."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.tenants import TenantTest


class TestBackendsApi(TenantTest):
    def test_any_member_lists_the_built_in_backends_with_their_runtime_target(self):
        response = self.api("viewer").get("/api/v1/backends/")
        assert response.status_code == 200
        listed = {row["name"]: row for row in response.json()["results"]}
        assert set(listed) == {"dask-local", "dask-scheduler", "lithops-aws-lambda", "lithops-localhost"}
        assert listed["lithops-aws-lambda"] == {
            "name": "lithops-aws-lambda", "builtin": True, "target": "lambda-layer", "error": ""
        }  # fmt: skip
        assert listed["dask-local"]["target"] == "local"

    def test_an_operator_backend_is_listed_and_one_that_cannot_load_says_why(self, settings):
        settings.PYRUN_EXTRA_BACKENDS = {
            "my-dask": "jobs.backends.dask_local.DaskLocal",
            "gone": "not_installed.Backend",
        }
        listed = {row["name"]: row for row in self.api("member").get("/api/v1/backends/").json()["results"]}
        assert listed["my-dask"] == {"name": "my-dask", "builtin": False, "target": "local", "error": ""}
        assert listed["gone"]["target"] is None and "not_installed" in listed["gone"]["error"]
        assert self.api("member").get("/api/v1/backends/my-dask/").json()["builtin"] is False

    def test_an_unknown_backend_is_a_404_and_the_list_needs_a_login(self):
        assert self.api("member").get("/api/v1/backends/cobol/").status_code == 404
        assert APIClient().get("/api/v1/backends/").status_code == 401
