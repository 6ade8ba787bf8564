"""A run's results/ reach its workspace: copied from the job's scratch copy when (and only when) it succeeds,
before the job is seen to end; never through a symlink; refused as a whole when over the workspace quota.
(Real runs that write results/ are in tests/pipelines/test_runs.py.)"""

from __future__ import annotations

import os

import pytest

from jobs import runner
from jobs.joblog import JobLog
from jobs.models import Job
from jobs.results import copy_results, copy_results_for_log
from jobs.supervisor import Outcome
from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import ResourceLimits
from tests.jobs.conftest import make_workspace
from tests.tenants import TenantTest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # passwords are never checked here


def scratch_with_results(tmp_path, files: dict[str, bytes]):
    scratch = tmp_path / "scratch"
    for rel, data in files.items():
        path = scratch / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return scratch


class TestCopyResults(TenantTest):
    def test_results_are_copied_with_their_folders_and_replace_older_ones(self, tmp_path):
        workspace = make_workspace(self.t, {"results/old.txt": "kept", "results/table.csv": "old"})
        scratch = scratch_with_results(
            tmp_path,
            {"results/table.csv": b"a,b\n1,2\n", "results/plots/p.png": b"\x89PNG...", "other.txt": b"not a result"},
        )
        copied = copy_results(workspace, scratch)
        assert (copied.files, copied.size) == (2, 8 + 7)
        assert (workspace.path / "results/table.csv").read_bytes() == b"a,b\n1,2\n"
        assert (workspace.path / "results/plots/p.png").read_bytes() == b"\x89PNG..."
        assert (workspace.path / "results/old.txt").read_text() == "kept"  # never deleted
        assert not (workspace.path / "other.txt").exists()  # only results/ comes back
        workspace.refresh_from_db()
        assert workspace.size == workspace.files.usage()

    def test_symlinks_are_never_followed(self, tmp_path):
        secret = tmp_path / "secret.txt"
        secret.write_text("platform secret")
        workspace = make_workspace(self.t)
        scratch = scratch_with_results(tmp_path, {"results/ok.txt": b"ok"})
        os.symlink(secret, scratch / "results" / "leak.txt")
        os.symlink(tmp_path, scratch / "results" / "dir")
        copy_results(workspace, scratch)
        assert sorted(p.name for p in (workspace.path / "results").iterdir()) == ["ok.txt"]
        # results itself a symlink: nothing is read through it.
        linked = tmp_path / "linked"
        linked.mkdir()
        os.symlink(scratch / "results", linked / "results")
        assert copy_results(make_workspace(self.t, name="Second"), linked) is None

    def test_no_results_folder_is_nothing_to_do(self, tmp_path):
        workspace = make_workspace(self.t)
        assert copy_results(workspace, scratch_with_results(tmp_path, {"x.txt": b"x"})) is None
        assert copy_results_for_log(workspace, tmp_path / "missing") is None

    def test_over_the_quota_nothing_is_copied_and_the_log_says_why(self, tmp_path):
        workspace = make_workspace(self.t)
        self.t.org.max_workspace_bytes = workspace.files.usage() + 100
        self.t.org.save()
        workspace.refresh_from_db()
        scratch = scratch_with_results(tmp_path, {"results/small.txt": b"x", "results/big.bin": b"y" * 1000})
        with pytest.raises(PyrunError) as raised:
            copy_results(workspace, scratch)
        assert raised.value.id == "workspaces:user:quota-exceeded"
        assert not (workspace.path / "results").exists()
        line = copy_results_for_log(workspace, scratch)
        assert line.startswith("results/ was not copied to the workspace: This would bring the workspace to")


class TestRunnerCopiesOnSuccess(TenantTest):
    def finish(self, tmp_path, code: int) -> Job:
        workspace = make_workspace(self.t)
        job = Job.objects.create(
            org=self.t.org, workspace=workspace, created_by=self.t.member, entrypoint="main.py", backend="dask-local"
        )
        assert job.claim(task_id="t", worker="w") and job.mark_running()
        scratch = scratch_with_results(tmp_path, {"results/out.txt": b"42"})
        log = JobLog(job)
        runner._finish(job, log, Outcome(exit_code=code), ResourceLimits(), 1.0, scratch)
        job.refresh_from_db()
        return job

    def test_a_succeeded_job_has_its_results_in_the_workspace(self, tmp_path):
        job = self.finish(tmp_path, 0)
        assert job.state == "succeeded"
        assert (job.workspace.path / "results/out.txt").read_bytes() == b"42"
        text = "".join(job.log_chunks.values_list("text", flat=True))
        assert "Copied results/ to the workspace: 1 file(s), 2 bytes" in text

    def test_a_failed_job_leaves_the_workspace_alone(self, tmp_path):
        job = self.finish(tmp_path, 1)
        assert job.state == "failed"
        assert not (job.workspace.path / "results").exists()
