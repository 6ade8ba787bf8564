"""The runs API without a worker: what a run request is checked for, who may do what, the shapes the CLI reads,
the log paging contract, cancel and re-run, the quota dispatcher and the reaper."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from jobs import runner, services
from jobs.models import Job, JobState, LogChunk
from jobs.supervisor import exit_error
from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import ResourceLimits
from tests.jobs.conftest import make_workspace
from tests.tenants import TenantTest


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """jobs.run messages that would go to Celery, recorded instead."""
    calls: list[int] = []
    monkeypatch.setattr(services, "send_run", lambda job_id, task_id: calls.append(job_id))
    return calls


def make_job(t, workspace=None, **fields) -> Job:
    workspace = workspace or make_workspace(t)
    fields.setdefault("entrypoint", "main.py")
    fields.setdefault("backend", "lithops-localhost")
    return Job.objects.create(org=t.org, workspace=workspace, created_by=t.member, **fields)


class TestRunRequest(TenantTest):
    def url(self, workspace) -> str:
        return f"/api/v1/workspaces/{workspace.pk}/runs/"

    def test_member_starts_a_run_and_gets_the_queued_job(self):
        workspace = make_workspace(self.t)
        body = {"entrypoint": "main.py", "args": ["--n", "3", ""], "env": {"MY_TOKEN": "s3cret"}}
        response = self.api("member").post(self.url(workspace), body)
        assert response.status_code == 201, response.content
        job = response.json()
        assert job["state"] == "queued"
        assert job["workspace"] == workspace.pk
        assert job["entrypoint"] == "main.py"
        assert job["args"] == ["--n", "3", ""]
        assert job["backend"] == "lithops-localhost"  # the workspace's default executor
        assert job["env_names"] == ["MY_TOKEN"]
        assert "s3cret" not in response.content.decode()
        assert job["created_by"] == "member@example.com"
        for key in ("exit_code", "error", "runtime", "started_at", "finished_at", "duration_seconds"):
            assert job[key] is None, key
        stored = Job.objects.get(pk=job["id"])
        assert stored.env == {"MY_TOKEN": "s3cret"}
        with connection.cursor() as cursor:
            cursor.execute("SELECT env_json FROM jobs_job WHERE id = %s", [job["id"]])
            assert "s3cret" not in cursor.fetchone()[0]  # encrypted at rest

    def test_backend_defaults_to_the_workspace_setting_and_can_be_chosen(self):
        workspace = make_workspace(self.t)
        workspace.set_lithops_settings({"default_executor": "dask-local"})
        assert self.api("member").post(self.url(workspace), {"entrypoint": "main.py"}).json()["backend"] == "dask-local"
        chosen = self.api("member").post(self.url(workspace), {"entrypoint": "main.py", "backend": "lithops-localhost"})
        assert chosen.json()["backend"] == "lithops-localhost"

    def test_entrypoint_in_a_folder_is_normalised(self):
        workspace = make_workspace(self.t, {"pkg/run.py": "print(1)"})
        response = self.api("member").post(self.url(workspace), {"entrypoint": "./pkg//run.py"})
        assert response.json()["entrypoint"] == "pkg/run.py"

    @pytest.mark.parametrize(
        ("body", "error_id"),
        [
            ({"entrypoint": "../other/main.py"}, "workspaces:user:bad-path"),
            ({"entrypoint": "/etc/passwd"}, "workspaces:user:bad-path"),
            ({"entrypoint": "missing.py"}, "job:user:no-entrypoint"),
            ({"entrypoint": ".pyrun"}, "job:user:no-entrypoint"),
            ({"entrypoint": ""}, "api:user:invalid"),
            ({"entrypoint": "main.py", "backend": "kubernetes"}, "job:user:bad-backend"),
            ({"entrypoint": "main.py", "env": {"PATH": "/evil"}}, "job:user:bad-env"),
            ({"entrypoint": "main.py", "env": {"LITHOPS_CONFIG": "{}"}}, "job:user:bad-env"),
            ({"entrypoint": "main.py", "env": {"DASK_SCHEDULER_ADDRESS": "tcp://x:1"}}, "job:user:bad-env"),
            ({"entrypoint": "main.py", "env": {"AWS_SECRET_ACCESS_KEY": "x"}}, "job:user:bad-env"),
            ({"entrypoint": "main.py", "env": {"1BAD": "x"}}, "job:user:bad-env"),
            ({"entrypoint": "main.py", "env": {"A-B": "x"}}, "job:user:bad-env"),
            ({"entrypoint": "main.py", "env": {"OK": "a\x00b"}}, "api:user:invalid"),
            ({"entrypoint": "main.py", "args": ["a\x00b"]}, "api:user:invalid"),
            ({"entrypoint": "main.py", "args": ["x"] * 300}, "job:user:bad-args"),
            ({"entrypoint": "main.py", "args": "not a list"}, "api:user:invalid"),
        ],
    )
    def test_bad_requests_are_400_with_a_stable_id(self, body, error_id):
        workspace = make_workspace(self.t)
        response = self.api("member").post(self.url(workspace), body)
        assert response.status_code == 400, response.content
        assert response.json()["error"]["id"] == error_id
        assert not Job.objects.exists()

    def test_a_symlink_out_of_the_workspace_is_not_an_entrypoint(self, tmp_path):
        workspace = make_workspace(self.t)
        outside = tmp_path / "secret.py"
        outside.write_text("print('host file')")
        (workspace.path / "link.py").symlink_to(outside)
        response = self.api("member").post(self.url(workspace), {"entrypoint": "link.py"})
        assert response.status_code == 400
        assert response.json()["error"]["id"] == "workspaces:user:bad-path"

    def test_viewer_cannot_run_and_another_org_gets_404(self):
        workspace = make_workspace(self.t)
        viewer = self.api("viewer").post(self.url(workspace), {"entrypoint": "main.py"})
        assert viewer.status_code == 403
        assert viewer.json()["error"]["id"] == "auth:user:role-required"
        outsider = self.api("outsider").post(self.url(workspace), {"entrypoint": "main.py"})
        assert outsider.status_code == 404
        assert not Job.objects.exists()


class TestJobsApi(TenantTest):
    def test_list_filters_and_detail(self):
        first, second = make_workspace(self.t, name="A"), make_workspace(self.t, name="B")
        a = make_job(self.t, first)
        b = make_job(self.t, second)
        b.cancel()
        make_job(self.t, second)
        listed = self.api("viewer").get("/api/v1/jobs/").json()["results"]
        assert len(listed) == 3
        assert listed[-1]["id"] == a.pk  # newest first
        assert [j["id"] for j in self.api("viewer").get("/api/v1/jobs/", {"state": "cancelled"}).json()["results"]] == [
            b.pk
        ]
        assert len(self.api("viewer").get("/api/v1/jobs/", {"workspace": second.pk}).json()["results"]) == 2
        assert len(self.api("viewer").get("/api/v1/jobs/", {"created_by": self.t.member.pk}).json()["results"]) == 3
        oldest_first = self.api("viewer").get("/api/v1/jobs/", {"ordering": "created_at"}).json()["results"]
        assert oldest_first[0]["id"] == a.pk
        detail = self.api("viewer").get(f"/api/v1/jobs/{b.pk}/").json()
        assert detail["state"] == "cancelled"
        assert detail["error"] == {"id": "job:user:cancelled", "message": "The job was cancelled."}
        assert self.api("outsider").get(f"/api/v1/jobs/{b.pk}/").status_code == 404
        assert self.api("outsider").get("/api/v1/jobs/").json()["results"] == []

    def test_runs_with_failed_tasks_are_listed_with_their_counts_and_filtered(self):
        workspace = make_workspace(self.t)
        clean = make_job(self.t, workspace, state=JobState.SUCCEEDED, exit_code=0)
        clean.record_task_counts(total=6, failed=0, lost=0)
        flawed = make_job(self.t, workspace, state=JobState.SUCCEEDED, exit_code=0)
        flawed.record_task_counts(total=6, failed=2, lost=0)
        make_job(self.t, workspace)  # still queued: its counts are unknown
        listed = self.api("viewer").get("/api/v1/jobs/").json()["results"]
        counts = {j["id"]: (j["state"], j["tasks_total"], j["tasks_failed"], j["tasks_lost"]) for j in listed}
        # A run whose script succeeded stays succeeded: the failed tasks are counted beside the state.
        assert counts[flawed.pk] == ("succeeded", 6, 2, 0)
        assert counts[clean.pk] == ("succeeded", 6, 0, 0)
        with_failures = self.api("viewer").get("/api/v1/jobs/", {"tasks_failed__gt": 0}).json()["results"]
        assert [j["id"] for j in with_failures] == [flawed.pk]
        assert self.api("outsider").get("/api/v1/jobs/", {"tasks_failed__gt": 0}).json()["results"] == []

    def test_task_counts_recorded_after_a_cancel_are_said_again_on_the_jobs_channel(self, monkeypatch):
        from jobs import events

        job = make_job(self.t)
        job.cancel()
        said: list[dict] = []
        monkeypatch.setattr(events, "publish_state", lambda j: said.append(events.state_message(j)))
        job.record_task_counts(total=4, failed=0, lost=3)
        assert [(m["state"], m["tasks_total"], m["tasks_lost"]) for m in said] == [("cancelled", 4, 3)]

    def test_logs_page_through_chunks_and_say_when_complete(self):
        job = make_job(self.t, state=JobState.RUNNING)
        LogChunk.objects.bulk_create(
            LogChunk(job=job, seq=n, stream="stdout" if n % 2 else "stderr", text=f"line {n}\n") for n in range(1, 6)
        )
        url = f"/api/v1/jobs/{job.pk}/logs/"
        page = self.api("viewer").get(url, {"limit": 2}).json()
        assert set(page) == {"chunks", "next_after", "state", "complete"}
        assert [c["seq"] for c in page["chunks"]] == [1, 2]
        assert set(page["chunks"][0]) == {"seq", "stream", "text", "created_at"}
        assert page["chunks"][1] == {**page["chunks"][1], "stream": "stderr", "text": "line 2\n"}
        assert page["next_after"] == 2 and page["state"] == "running" and page["complete"] is False
        rest = self.api("viewer").get(url, {"after": 2}).json()
        assert [c["seq"] for c in rest["chunks"]] == [3, 4, 5]
        assert rest["complete"] is False  # still running
        Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, finished_at=timezone.now())
        assert self.api("viewer").get(url, {"after": 5}).json()["complete"] is False  # the worker may still write
        job.record(log_complete=True)
        assert self.api("viewer").get(url, {"after": 2, "limit": 2}).json()["complete"] is False  # more to read
        done = self.api("viewer").get(url, {"after": 4}).json()
        assert [c["seq"] for c in done["chunks"]] == [5] and done["complete"] is True
        empty = self.api("viewer").get(url, {"after": 5}).json()
        assert empty == {"chunks": [], "next_after": 5, "state": "succeeded", "complete": True}
        assert self.api("viewer").get(url, {"after": -1}).status_code == 400
        assert self.api("outsider").get(url).status_code == 404

    def test_a_cancelled_job_whose_worker_vanished_completes_its_log_after_the_heartbeat_timeout(self):
        job = make_job(self.t, state=JobState.RUNNING)
        job.cancel()
        url = f"/api/v1/jobs/{job.pk}/logs/"
        assert self.api("viewer").get(url).json()["complete"] is False
        Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(minutes=5))
        assert self.api("viewer").get(url).json()["complete"] is True

    def test_cancel_a_queued_job_then_again_is_409(self):
        job = make_job(self.t)
        url = f"/api/v1/jobs/{job.pk}/cancel/"
        assert self.api("viewer").post(url).status_code == 403
        response = self.api("member").post(url)
        assert response.status_code == 200
        assert response.json()["state"] == "cancelled" and response.json()["cancel_requested"] is True
        job.refresh_from_db()
        assert job.log_complete  # no worker will ever write to it
        again = self.api("member").post(url)
        assert again.status_code == 409
        assert again.json()["error"]["id"] == "job:user:already-finished"
        assert self.api("outsider").post(url).status_code == 404

    def test_rerun_reuses_the_snapshot_and_runtime(self):
        from runtimes.models import Runtime

        runtime = Runtime.objects.create(org=self.t.org, spec_hash="f" * 64, kind="conda", builder="uv")
        job = make_job(self.t, args=["x"], snapshot_hash="a" * 64, runtime=runtime, state=JobState.FAILED)
        job.env = {"KEY": "v"}
        job.save()
        assert self.api("viewer").post(f"/api/v1/jobs/{job.pk}/rerun/").status_code == 403
        response = self.api("member").post(f"/api/v1/jobs/{job.pk}/rerun/")
        assert response.status_code == 201, response.content
        again = response.json()
        assert again["id"] != job.pk and again["state"] == "queued" and again["rerun_of"] == job.pk
        assert (again["snapshot_hash"], again["runtime"], again["args"]) == ("a" * 64, runtime.pk, ["x"])
        assert Job.objects.get(pk=again["id"]).env == {"KEY": "v"}
        assert again["created_by"] == "member@example.com"

    def test_rerun_of_a_job_without_snapshot_is_409(self):
        job = make_job(self.t)
        job.cancel()
        response = self.api("member").post(f"/api/v1/jobs/{job.pk}/rerun/")
        assert response.status_code == 409
        assert response.json()["error"]["id"] == "job:user:not-rerunnable"


class TestTransitions(TenantTest):
    def test_claim_happens_once_and_a_redelivered_run_does_nothing(self, sent):
        job = make_job(self.t)
        assert job.claim(task_id="t1", worker="w1")
        assert not job.claim(task_id="t2", worker="w2")
        assert runner.run_job(job.pk, task_id="t3", worker="w3") == "not claimed (preparing)"
        job.refresh_from_db()
        assert (job.state, job.celery_task_id, job.worker) == ("preparing", "t1", "w1")
        assert runner.run_job(10**9) == "missing"

    def test_only_transitions_from_the_right_states_win(self):
        job = make_job(self.t)
        assert not job.mark_running() and not job.finish(0)
        assert job.claim(task_id="t", worker="w") and job.mark_running()
        assert job.cancel()
        assert not job.finish(0) and not job.time_out(5) and not job.fail(PyrunError("job:platform:crashed"))
        job.refresh_from_db()
        assert job.state == "cancelled" and job.error_id == "job:user:cancelled"

    def test_finish_records_the_exit_and_its_reason(self):
        job = make_job(self.t)
        job.claim(task_id="t", worker="w")
        job.mark_running()
        assert job.finish(3)
        assert (job.state, job.exit_code, job.error_id) == ("failed", 3, "job:user:exit-code")
        assert job.error_message == "The script exited with code 3."


class TestRunnerWithoutWorker(TenantTest):
    def test_a_crash_in_the_runner_fails_the_job_as_a_platform_error(self, sent, monkeypatch):
        def boom(job, log):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(runner, "_take_snapshot", boom)
        job = make_job(self.t)
        assert runner.run_job(job.pk, task_id="t", worker="w") == "failed"
        job.refresh_from_db()
        assert (job.state, job.error_id, job.log_complete) == ("failed", "job:platform:crashed", True)
        assert "disk on fire" not in job.error_message  # internals stay in the operators' logs
        assert "== failed: The job failed because of a platform error" in job.log_chunks.last().text
        assert not services.scratch_dir(job.pk).exists()

    def test_a_spec_that_does_not_parse_fails_the_job_with_the_runtime_error(self, sent):
        workspace = make_workspace(self.t, {".pyrun/environment.yml": "name: x\ndependencies:\n  - [unclosed\n"})
        job = make_job(self.t, workspace)
        assert runner.run_job(job.pk, task_id="t", worker="w") == "failed"
        job.refresh_from_db()
        assert job.error_id == "job:user:runtime-failed"
        assert "environment.yml is not valid YAML" in job.error_message
        assert job.runtime.state == "failed" and len(job.snapshot_hash) == 64


class TestCancelWhilePreparing(TenantTest):
    def test_cancel_while_the_runtime_builds_elsewhere(self, transactional_db, sent):
        from runtimes.models import Runtime
        from runtimes.services import identity, runtime_for_workspace

        workspace = make_workspace(self.t)
        digest = identity(runtime_for_workspace(workspace.spec_source()), "local")[0]
        # Another worker is building this spec's runtime (its heartbeat is fresh).
        runtime = Runtime.objects.create(
            org=self.t.org, spec_hash=digest, kind="conda", builder="uv", state="building",
            heartbeat_at=timezone.now(), attempts=1,
        )  # fmt: skip
        job = make_job(self.t, workspace)
        ended: list[str] = []

        def work() -> None:
            try:
                ended.append(runner.run_job(job.pk, task_id="t", worker="w"))
            finally:
                connections.close_all()

        thread = threading.Thread(target=work)
        thread.start()
        deadline = time.monotonic() + 10
        while not job.log_chunks.filter(text__contains="is building").exists():
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.05)
        assert Job.objects.get(pk=job.pk).state == "preparing"
        assert services.cancel(Job.objects.get(pk=job.pk)).state == "cancelled"
        time.sleep(0.6)
        Runtime.objects.filter(pk=runtime.pk).update(state="failed", error_id="runtime:platform:build-crashed")
        thread.join(10)
        assert ended == ["cancelled"]
        job.refresh_from_db()
        assert job.state == "cancelled" and job.log_complete and job.runtime_id == runtime.pk
        assert "the runtime build goes on" in "".join(job.log_chunks.values_list("text", flat=True))


class TestDispatchAndReap(TenantTest):
    def test_jobs_beyond_the_quota_wait_in_order(self, sent, django_capture_on_commit_callbacks):
        self.t.org.max_concurrent_jobs = 2
        self.t.org.save()
        workspace = make_workspace(self.t)
        with django_capture_on_commit_callbacks(execute=True):
            jobs = [services.create_run(workspace, self.t.member, "main.py") for _ in range(4)]
        assert sent == [jobs[0].pk, jobs[1].pk]
        assert [Job.objects.get(pk=j.pk).dispatched_at is not None for j in jobs] == [True, True, False, False]
        with django_capture_on_commit_callbacks(execute=True):
            services.dispatch_queued(self.t.org.pk)  # nothing ended: nothing more starts
        assert sent == [jobs[0].pk, jobs[1].pk]
        jobs[0].claim(task_id="t", worker="w")
        jobs[0].mark_running()
        jobs[0].finish(0)
        with django_capture_on_commit_callbacks(execute=True):
            services.dispatch_queued(self.t.org.pk)
        assert sent == [jobs[0].pk, jobs[1].pk, jobs[2].pk]
        with django_capture_on_commit_callbacks(execute=True):
            services.cancel(Job.objects.get(pk=jobs[1].pk))  # a queued (dispatched) job frees its slot too
        assert sent[-1] == jobs[3].pk

    def test_reaper_fails_jobs_whose_worker_stopped_beating(self, sent, settings):
        settings.PYRUN_JOB_HEARTBEAT_TIMEOUT_SECONDS = 30
        lost, alive = make_job(self.t), make_job(self.t)
        for job in (lost, alive):
            job.claim(task_id="t", worker="w")
            job.mark_running()
        Job.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
        from jobs.tasks import reap

        assert reap() == 1
        lost.refresh_from_db()
        alive.refresh_from_db()
        assert (lost.state, lost.error_id, lost.log_complete) == ("failed", "job:platform:worker-lost", True)
        assert alive.state == "running"


class TestExitReasons:
    limits = ResourceLimits(memory_bytes=512 * 1024**2, max_processes=64)

    @pytest.mark.parametrize(
        ("code", "stderr", "hit", "error_id", "text"),
        [
            (3, "", False, "job:user:exit-code", "The script exited with code 3."),
            (1, "Traceback ...\nMemoryError\n", False, "job:user:memory-limit", "at most 512 MiB"),
            (137, "", False, "job:user:memory-limit", "512 MiB"),
            (1, "Traceback ...\nBlockingIOError: [Errno 11] Resource temporarily unavailable\n", False,
             "job:user:process-limit", "more than 64 processes"),
            (1, "", True, "job:user:process-limit", "64"),
            (143, "", False, "job:user:killed", "SIGTERM"),
            (1, "MemoryError in a comment\nValueError: x\n", False, "job:user:exit-code", "code 1"),
            (1, "Traceback ...\nMemoryError\n\n", False, "job:user:memory-limit", "512 MiB"),
            # A script that raised: the header says what it raised.
            (1, "Traceback (most recent call last):\n  File \"m.py\", line 1\nKeyError: 'rows'\n", False,
             "job:user:exception", "The script failed with KeyError: 'rows' (exit code 1)."),
            (1, "Traceback (most recent call last):\n  ...\npkg.errors.Boom\n", False, "job:user:exception",
             "failed with pkg.errors.Boom"),
            (1, "Traceback (most recent call last):\n  ...\nValueError: " + "x" * 400 + "\n", False,
             "job:user:exception", "x…"),
        ],
    )  # fmt: skip
    def test_exit_reasons(self, code, stderr, hit, error_id, text):
        error = exit_error(code, stderr, self.limits, hit)
        assert error.id == error_id
        assert text in error.message


def test_env_checks():
    assert services.clean_env({"A_1": "", "lower": "x"}) == {"A_1": "", "lower": "x"}
    for name in ("HOME", "PYTHONPATH", "DASK_X", "PYRUN_X", "LD_PRELOAD", "_ok" * 100):
        with pytest.raises(PyrunError) as caught:
            services.clean_env({name: "v"})
        assert caught.value.id == "job:user:bad-env"
