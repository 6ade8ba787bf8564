"""Real uv builds through the build director: reuse, failures that say why, nothing half-built, one build for
concurrent callers, cancel and timeout."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import override_settings

from runtimes import director, layout, services
from runtimes.builders import BUILDERS
from runtimes.builders.base import BuildContext, BuildResult, run_command
from runtimes.models import Runtime, RuntimeLogLine
from runtimes.spec import parse_environment
from tests.runtimes.conftest import IDNA, MALFORMED, OLD_PYTHON, SIX, UNKNOWN, make_workspace, write_env
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow


def final_prefix(runtime: Runtime) -> Path:
    return layout.final_prefix(runtime.org_id, runtime.spec_hash)


class TestUvBuilds(TenantTest):
    def ensure(self, text: str) -> Runtime:
        runtime = services.ensure_runtime(self.t.org, parse_environment(text), "local", self.t.member)
        runtime.refresh_from_db()
        return runtime

    def test_build_imports_the_package_and_records_what_it_installed(self, inline_builds):
        runtime = self.ensure(SIX)
        assert runtime.state == Runtime.State.READY, runtime.error_message
        assert runtime.builder == "uv"
        assert runtime.python_version.startswith("3.11.")
        assert {"name": "six", "version": runtime.packages[0]["version"], "source": "pypi"} in runtime.packages
        assert runtime.size_bytes > 0
        assert Path(runtime.prefix) == final_prefix(runtime)
        assert Path(runtime.extra["base_prefix"], "bin").is_dir()  # what a sandbox must bind besides the env
        for python in (Path(runtime.prefix) / "bin" / "python", runtime.python):
            done = subprocess.run(
                [str(python), "-c", "import six; print(six.__name__)"], capture_output=True, text=True
            )
            assert done.stdout.strip() == "six", done.stderr
        texts = list(runtime.log_lines.values_list("text", flat=True))
        assert any("uv pip install" in line for line in texts)
        assert any("+ six==" in line for line in texts)
        assert texts[-1].startswith("== ready")

    @pytest.mark.parametrize("compiled", [True, False])
    def test_modules_are_compiled_at_build_time_for_read_only_runtimes(self, inline_builds, settings, compiled):
        settings.PYRUN_RUNTIME_COMPILE_BYTECODE = compiled
        runtime = self.ensure(SIX)
        assert runtime.state == Runtime.State.READY, runtime.error_message
        where_pyc = "import importlib.util as u; print(u.cache_from_source(u.find_spec('six').origin))"
        found = subprocess.run(
            [str(runtime.python), "-I", "-c", where_pyc], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert Path(found).is_file() == compiled
        texts = list(runtime.log_lines.values_list("text", flat=True))
        assert any("Compiling bytecode" in line for line in texts) == compiled

    def test_the_same_spec_again_builds_nothing(self, inline_builds):
        first = self.ensure(SIX)
        lines = RuntimeLogLine.objects.count()
        # Comments, ordering and the env name do not change what is built.
        second = self.ensure("# edited\nname: renamed\ndependencies:\n  - pip:\n      - six\n  - python=3.11\n")
        assert second.pk == first.pk and second.state == Runtime.State.READY
        assert len(inline_builds) == 1
        assert RuntimeLogLine.objects.count() == lines
        assert second.last_used_at is not None

    def test_a_changed_spec_builds_anew(self, inline_builds):
        first = self.ensure(SIX)
        second = self.ensure(IDNA)
        assert second.pk != first.pk and len(inline_builds) == 2
        assert second.state == Runtime.State.READY
        assert second.build_phase == Runtime.Phase.DONE  # the step indicator's last step
        assert {p["name"] for p in second.packages} == {"six", "idna"}
        done = subprocess.run([str(second.python), "-c", "import idna, six"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    def test_unknown_package_fails_with_uvs_message_and_leaves_no_prefix(self, inline_builds):
        runtime = self.ensure(UNKNOWN)
        assert runtime.state == Runtime.State.FAILED
        assert runtime.error_id == "runtime:user:pip-failed"
        assert "this-package-does-not-exist-pyrun-xyz" in runtime.error_message
        # The step it failed at, said by the builder (uv resolves, downloads and installs in one command).
        assert runtime.build_phase == Runtime.Phase.INSTALL
        assert "not found in the package registry" in runtime.error_message
        assert not final_prefix(runtime).exists()
        assert not list(layout.builds_root().glob(f"{runtime.pk}-*"))
        assert runtime.prefix == ""

    def test_python_nobody_has_fails_listing_what_is_available(self, inline_builds):
        runtime = self.ensure(OLD_PYTHON)
        assert runtime.state == Runtime.State.FAILED
        assert runtime.error_id == "runtime:user:python-unavailable"
        assert "2.5" in runtime.error_message
        assert "3.11." in runtime.error_message.split("has:")[1]
        assert not final_prefix(runtime).exists()

    def test_after_a_failure_the_fixed_spec_builds(self, inline_builds):
        broken = self.ensure(UNKNOWN.replace("this-package-does-not-exist-pyrun-xyz", "sixx-does-not-exist-pyrun"))
        assert broken.state == Runtime.State.FAILED
        fixed = self.ensure(SIX)
        assert fixed.state == Runtime.State.READY and fixed.pk != broken.pk

    def test_a_failed_runtime_is_retried_by_the_next_request(self, inline_builds):
        failed = self.ensure(UNKNOWN)
        again = self.ensure(UNKNOWN)
        assert again.pk == failed.pk and again.attempts == 2 and again.state == Runtime.State.FAILED
        assert len(inline_builds) == 2

    def test_rebuild_replaces_the_environment_and_removes_the_old_one(self, inline_builds):
        runtime = self.ensure(SIX)
        old_dir = runtime.build_dir
        services.rebuild(runtime)
        runtime.refresh_from_db()
        assert runtime.state == Runtime.State.READY and runtime.attempts == 2
        assert runtime.build_dir != old_dir and not old_dir.exists()
        assert final_prefix(runtime).resolve() == runtime.build_dir
        seqs = list(runtime.log_lines.values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))  # one numbering across both builds

    def test_a_ready_runtime_whose_files_vanished_is_rebuilt(self, inline_builds):
        runtime = self.ensure(SIX)
        layout.remove_tree(final_prefix(runtime))
        again = self.ensure(SIX)
        assert again.pk == runtime.pk and again.state == Runtime.State.READY and again.attempts == 2
        assert final_prefix(again).exists()

    def test_deleting_a_runtime_removes_its_files(self, inline_builds):
        runtime = self.ensure(SIX)
        build_dir = runtime.build_dir
        services.delete_runtime(runtime)
        assert not final_prefix(runtime).exists() and not build_dir.exists()


class TestWorkspaceSpecs(TenantTest):
    def test_malformed_yaml_gives_a_failed_runtime_naming_the_line(self, inline_builds):
        workspace = make_workspace(self.t, MALFORMED)
        runtime = services.ensure_workspace_runtime(workspace.spec_source(), user=self.t.member)
        assert runtime.state == Runtime.State.FAILED
        assert runtime.error_id == "runtime:user:bad-yaml"
        assert "line 6" in runtime.error_message
        assert any("line 6" in text for text in runtime.log_lines.values_list("text", flat=True))
        assert inline_builds == []  # nothing to build
        assert services.ensure_workspace_runtime(workspace.spec_source()).pk == runtime.pk
        status = services.workspace_runtime_status(workspace.spec_source())
        assert status.status == "failed" and status.runtime.pk == runtime.pk

    def test_a_symlinked_spec_is_not_read(self, inline_builds, tmp_path):
        workspace = make_workspace(self.t)
        secret = tmp_path / "secret.yml"
        secret.write_text("name: leaked\n")
        env = Path(workspace.path) / ".pyrun" / "environment.yml"
        env.unlink()
        env.symlink_to(secret)
        with pytest.raises(services.PyrunError) as caught:
            services.ensure_workspace_runtime(workspace.spec_source())
        assert caught.value.id == "runtime:user:spec-unreadable"
        assert "leaked" not in caught.value.message
        assert not Runtime.objects.exists()

    def test_status_goes_none_building_ready_outdated(self, sent_builds, transactional_db):
        workspace = make_workspace(self.t, SIX)
        assert services.workspace_runtime_status(workspace.spec_source()).status == "none"
        runtime = services.ensure_workspace_runtime(workspace.spec_source(), user=self.t.member)
        assert services.workspace_runtime_status(workspace.spec_source()).status == "building"
        director.run_build(*sent_builds[0])
        status = services.workspace_runtime_status(workspace.spec_source())
        assert (status.status, status.runtime.pk) == ("ready", runtime.pk)
        # The workspace got that ready runtime; editing the spec makes it outdated until the new one is built.
        services.ensure_workspace_runtime(workspace.spec_source())
        write_env(workspace, IDNA)
        status = services.workspace_runtime_status(workspace.spec_source())
        assert (status.status, status.runtime.pk) == ("outdated", runtime.pk)

    def test_dockerfile_context_is_hashed_and_snapshotted(self, sent_builds, transactional_db):
        workspace = make_workspace(self.t)
        write_env(workspace, "FROM python:3.11-slim\nARG LITHOPS\nCOPY requirements.txt .\n", name="Dockerfile")
        requirements = write_env(workspace, "six\n", name="requirements.txt")
        spec = services.runtime_for_workspace(workspace.spec_source())
        assert spec.kind == "docker"  # the Dockerfile wins over the template's environment.yml
        first = services.identity(spec, "local")[0]
        requirements.write_text("six==1.16.0\n")
        assert services.identity(spec, "local")[0] != first
        runtime = services.ensure_workspace_runtime(workspace.spec_source())
        assert (runtime.builder, runtime.source) == ("docker", ".pyrun/Dockerfile")
        snapshot = layout.context_dir(runtime.pk)
        assert (snapshot / "requirements.txt").read_text() == "six==1.16.0\n"
        requirements.write_text("idna\n")  # edited after the request: the queued build still sees what was hashed
        assert director.spec_of(runtime).context_dir == str(snapshot)
        assert (snapshot / "requirements.txt").read_text() == "six==1.16.0\n"

    def test_workspace_without_a_spec_gets_the_default_runtime(self, inline_builds):
        workspace = make_workspace(self.t)
        (Path(workspace.path) / ".pyrun" / "environment.yml").unlink()
        runtime = services.ensure_workspace_runtime(workspace.spec_source())
        runtime.refresh_from_db()
        assert runtime.state == Runtime.State.READY and runtime.packages == []
        assert runtime.python_version.startswith("3.11.")


class TestConcurrency(TenantTest):
    def test_concurrent_ensure_calls_make_one_build(self, sent_builds, transactional_db):
        spec = parse_environment(SIX)
        ids: list[int] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(4)

        def call() -> None:
            try:
                barrier.wait()
                ids.append(services.ensure_runtime(self.t.org, spec, "local", self.t.member).pk)
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert len(set(ids)) == 1 and Runtime.objects.count() == 1
        assert len(sent_builds) == 1
        # A second worker given the same task cannot claim it again.
        assert director.run_build(*sent_builds[0]) == Runtime.State.READY
        assert director.run_build(*sent_builds[0]).startswith("not claimed")
        waited: list[Runtime] = []

        def wait() -> None:
            waited.append(services.wait_ready(ids[0], timeout=30))
            connection.close()

        waiters = [threading.Thread(target=wait) for _ in range(3)]
        for thread in waiters:
            thread.start()
        for thread in waiters:
            thread.join(60)
        assert [r.state for r in waited] == [Runtime.State.READY] * 3

    def test_wait_ready_times_out_with_an_error(self, sent_builds, transactional_db):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        with pytest.raises(services.PyrunError) as caught:
            services.wait_ready(runtime.pk, timeout=0.3)
        assert caught.value.id == "runtime:platform:wait-timeout"


class SleepBuilder:
    """A builder whose one command takes long: cancellation and the deadline are the director's business."""

    name = "uv"

    def build(self, ctx: BuildContext) -> BuildResult:
        ctx.prefix.mkdir(parents=True)
        (ctx.prefix / "half-built").write_text("")
        run_command(["sleep", "60"], ctx)
        return BuildResult(python_version="3.11.0", prefix=str(ctx.prefix))


@pytest.fixture
def sleep_builder(monkeypatch):
    monkeypatch.setitem(BUILDERS, "uv", f"{__name__}.SleepBuilder")


class TestCancelAndTimeout(TenantTest):
    def start(self) -> tuple[Runtime, threading.Thread, list]:
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local", self.t.member)
        outcome: list[str] = []

        def build() -> None:
            outcome.append(director.run_build(runtime.pk, runtime.celery_task_id))
            connection.close()

        thread = threading.Thread(target=build)
        thread.start()
        deadline = time.monotonic() + 30
        while not RuntimeLogLine.objects.filter(runtime=runtime, text__startswith="$ sleep").exists():
            assert time.monotonic() < deadline, "the build never started its command"
            time.sleep(0.1)
        return runtime, thread, outcome

    def test_cancel_stops_a_running_build(self, sleep_builder, sent_builds, transactional_db):
        runtime, thread, outcome = self.start()
        started = time.monotonic()
        services.cancel(Runtime.objects.get(pk=runtime.pk))
        thread.join(30)
        assert outcome == [Runtime.State.FAILED]
        assert time.monotonic() - started < 10
        runtime.refresh_from_db()
        assert (runtime.state, runtime.error_id) == (Runtime.State.FAILED, "runtime:user:cancelled")
        assert not final_prefix(runtime).exists()
        assert not list(layout.builds_root().glob(f"{runtime.pk}-*"))  # the half-built folder is gone

    def test_cancel_of_a_pending_build_fails_it_and_its_task_does_nothing(self, sent_builds, transactional_db):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        services.cancel(runtime)
        runtime.refresh_from_db()
        assert (runtime.state, runtime.error_id) == (Runtime.State.FAILED, "runtime:user:cancelled")
        assert director.run_build(*sent_builds[0]).startswith("not claimed")

    def test_cancel_of_a_finished_build_is_refused(self, inline_builds):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        runtime.refresh_from_db()
        with pytest.raises(services.PyrunError) as caught:
            services.cancel(runtime)
        assert caught.value.id == "runtime:user:not-building"

    @override_settings(PYRUN_BUILD_TIMEOUT_SECONDS=2)
    def test_a_build_past_its_deadline_fails_as_timeout(self, sleep_builder, sent_builds, transactional_db):
        runtime, thread, _outcome = self.start()
        thread.join(30)
        runtime.refresh_from_db()
        assert (runtime.state, runtime.error_id) == (Runtime.State.FAILED, "runtime:user:timeout")
        assert "2 seconds" in runtime.error_message
        assert not final_prefix(runtime).exists()

    def test_a_build_whose_worker_died_is_failed_by_the_reaper(self, sent_builds, transactional_db):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        assert runtime.claim_build(runtime.celery_task_id)
        Runtime.objects.filter(pk=runtime.pk).update(heartbeat_at=runtime.heartbeat_at.replace(year=2000))
        assert Runtime.objects.reap_stale() == 1
        runtime.refresh_from_db()
        assert (runtime.state, runtime.error_id) == (Runtime.State.FAILED, "runtime:platform:worker-lost")


class TestCeleryRevoke(TenantTest):
    def revoke(self, runtime: Runtime, **kwargs) -> None:
        from runtimes.tasks import _build_revoked, build

        _build_revoked(sender=build, request=SimpleNamespace(id=runtime.celery_task_id), **kwargs)
        runtime.refresh_from_db()

    def test_revoking_a_queued_build_fails_it(self, sent_builds, transactional_db):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        self.revoke(runtime)
        assert (runtime.state, runtime.error_id) == (Runtime.State.FAILED, "runtime:user:cancelled")

    def test_terminating_a_running_build_fails_it(self, sent_builds, transactional_db):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        task_id = runtime.celery_task_id
        assert runtime.claim_build(task_id)
        runtime.celery_task_id = task_id
        self.revoke(runtime, terminated=True, signum=15)
        assert (runtime.state, runtime.error_id) == (Runtime.State.FAILED, "runtime:user:cancelled")

    def test_a_soft_revoke_flags_the_build_for_its_worker(self, sent_builds, transactional_db):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        assert runtime.claim_build(runtime.celery_task_id)
        self.revoke(runtime, terminated=True, signum=10)
        assert runtime.state == Runtime.State.BUILDING and runtime.cancel_requested_at is not None
        assert runtime.heartbeat()  # what the build's supervisor sees at its next heartbeat
