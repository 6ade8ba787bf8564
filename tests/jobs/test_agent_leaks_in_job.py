"""A Dask test suite run as a job behaves as it does outside: leak-checked cases of ``dask/tests/test_distributed.py``
(``gen_cluster`` checks every test's threads, distributed's resource-leak plugin its file descriptors) pass in a real
``dask-local`` job with the agent injected, and the agent still reports their tasks."""

from __future__ import annotations

import pytest

from monitoring.models import TaskEvent
from tests.jobs.conftest import logs_text, make_workspace, start_run, wait_for
from tests.monitoring.test_agent_leaks import LEAK_CHECKED_TESTS, PYTEST_MAIN
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow

# The versions this repository's own Dask tests run with.
SPEC = """\
name: dask-tests
dependencies:
  - python=3.11
  - pip:
      - dask[distributed]==2026.8.0
      - pytest==9.2.0
"""


class TestDaskTestsInAJob(TenantTest):
    def test_leak_checked_dask_tests_pass_in_a_job_with_the_agent_on(self, jobs_worker):
        files = {
            ".pyrun/environment.yml": SPEC,
            "test_leak_checked.py": LEAK_CHECKED_TESTS,
            "run_tests.py": PYTEST_MAIN,
        }
        workspace = make_workspace(self.t, files, template="dask")
        api = self.api("member")

        created = start_run(api, workspace.pk, "run_tests.py", backend="dask-local")
        job = wait_for(api, created["id"], timeout=900)  # the runtime's first build downloads from PyPI

        output = logs_text(api, job["id"])
        assert job["state"] == "succeeded", output
        assert "3 passed" in output and "leaked" not in output.lower(), output
        compute = TaskEvent.objects.filter(job_id=job["id"], framework="dask", phase="compute", group="inc")
        assert compute.filter(status="finished").count() == 22  # 1 + 1 + 20 tasks, each reported once
        assert compute.values("key").distinct().count() == 22
