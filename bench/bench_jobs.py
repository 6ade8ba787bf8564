"""Jobs: a Lithops script run through the platform (create_run → real Celery worker → sandbox) vs run directly.

The script maps ``time.sleep(0.02)`` over 200 tasks with ``lithops.FunctionExecutor()`` on the localhost backend.
Platform: ``jobs.services.create_run`` on a workspace whose runtime is built and warm, a real worker process
(``celery -A pyrun_web worker -Q celery,builds -c 2``) sharing the bench's SQLite and Redis, timed until the job
is seen ``succeeded``. Direct: the same script, the runtime's interpreter and the backend's ``LITHOPS_CONFIG`` in a
plain subprocess with a fresh HOME/TMPDIR, no sandbox. The script prints ``time.time()`` first and last, so the
platform's start-up overhead (create_run → first line of the script) is read from the job's log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.harness import BenchEnv, Result, timed_runs

TASKS = 200
TASK_SECONDS = 0.02
RATIO_TARGET = 1.10
OVERHEAD_TARGET_S = 0.300
OVERHEAD_GOAL_S = 0.100  # the goal; 300 ms is the must
POLL_SECONDS = 0.01
REPO = Path(__file__).resolve().parent.parent

SCRIPT = f"""\
import time
print("START", repr(time.time()), flush=True)

import lithops


def f(x):
    time.sleep({TASK_SECONDS})
    return x


fexec = lithops.FunctionExecutor()
futures = fexec.map(f, range({TASKS}))
result = fexec.get_result(futures)
assert result == list(range({TASKS})), result
print("END", repr(time.time()), flush=True)
"""


def _stamps(text: str) -> dict[str, float]:
    """The START/END wall-clock stamps the script printed."""
    out = {}
    for line in text.splitlines():
        word, _, value = line.partition(" ")
        if word in ("START", "END") and word not in out:
            out[word] = float(value)
    return out


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("nan")


class _Worker:
    """A real Celery worker process on the bench's data dir (SQLite and embedded Redis are found from it)."""

    def __init__(self, data_dir: Path) -> None:
        self.name = f"bench-jobs-{os.getpid()}@{os.uname().nodename}"
        self.log_path = Path(data_dir) / "bench-worker.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from pyrun_web.celery import app

        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "pyrun_web", "worker", "-l", "WARNING", "-c", "2",
             "--without-mingle", "--without-gossip", "-n", self.name, "-Q", "celery,builds"],
            env=dict(os.environ), cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5, destination=[self.name]):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the bench worker did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def run(env: BenchEnv) -> list[Result]:
    from jobs.backends.lithops_localhost import LithopsLocalhost
    from jobs.models import Job, LogChunk
    from jobs.services import create_run
    from pyrun_web.tenancy.services import create_tenant
    from runtimes import services as runtimes
    from runtimes.models import Runtime
    from workspaces.services import create_workspace

    org, user, _key = create_tenant("bench-jobs", "bench-jobs@example.com")
    workspace = create_workspace(org=org, user=user, name="Bench jobs", template="lithops")
    (Path(workspace.path) / "bench_map.py").write_text(SCRIPT)

    worker = _Worker(env.data_dir)
    worker.start()
    try:
        # The runtime: built by the worker's builds queue, outside the timing.
        runtime = runtimes.ensure_workspace_runtime(workspace.spec_source(), user=user)
        runtime = runtimes.wait_ready(runtime.pk, 1800)
        assert runtime.state == Runtime.State.READY, runtime.error_message
        python = str(runtime.python)

        def platform_run() -> dict[str, float]:
            wall0 = time.time()
            perf0 = time.perf_counter()
            job = create_run(workspace, user, "bench_map.py")
            created = time.perf_counter()
            rows = Job.objects.filter(pk=job.pk)
            while (state := rows.values_list("state", flat=True).get()) not in ("succeeded", "failed", "cancelled"):
                time.sleep(POLL_SECONDS)
            seen = time.perf_counter()
            job.refresh_from_db()
            # The log is closed just after the state: wait for it so the stamps are all there.
            deadline = time.monotonic() + 10
            while not job.log_complete and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
                job.refresh_from_db()
            chunks = LogChunk.objects.filter(job=job).order_by("seq")
            text = "".join(c.text for c in chunks if c.stream == "stdout")
            if state != "succeeded":
                raise RuntimeError(f"job {job.pk} {state}: " + "".join(c.text for c in chunks))
            stamps = _stamps(text)
            return {
                "total": seen - perf0,
                "overhead": stamps["START"] - wall0,
                "create_run": created - perf0,
                "to_dispatched": _ts(job.dispatched_at) - wall0,
                "dispatched_to_claimed": _ts(job.started_at) - _ts(job.dispatched_at),
                "claimed_to_running": _ts(job.running_at) - _ts(job.started_at),
                "running_to_start": stamps["START"] - _ts(job.running_at),
                "script": stamps["END"] - stamps["START"],
                "end_to_finished": _ts(job.finished_at) - stamps["END"],
                "finished_to_seen": (wall0 + (seen - perf0)) - _ts(job.finished_at),
                "job": job.pk,
            }

        rounds = env.rounds(3, 10)
        warm_up = platform_run()  # worker imports, snapshot store, page cache
        plan = LithopsLocalhost().plan(
            job=Job.objects.get(pk=warm_up["job"]), runtime=runtime, interpreter=python,
            settings=workspace.lithops_settings,
        )  # fmt: skip

        def direct_run() -> dict[str, float]:
            tmp = tempfile.mkdtemp(prefix="pyrun-bench-direct-")
            try:
                home, tmpdir, code = Path(tmp) / "home", Path(tmp) / "tmp", Path(tmp) / "code"
                home.mkdir()
                tmpdir.mkdir()
                shutil.copytree(workspace.path, code)
                run_env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "HOME": str(home),
                    "TMPDIR": str(tmpdir),
                    "LANG": "C.UTF-8",
                    "PYTHONUNBUFFERED": "1",
                    **plan.env,
                }
                wall0 = time.time()
                perf0 = time.perf_counter()
                process = subprocess.Popen(
                    [python, "bench_map.py"], cwd=code, env=run_env, text=True, start_new_session=True,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                )  # fmt: skip
                stdout, stderr = process.communicate()
                total = time.perf_counter() - perf0
            finally:
                # Like the sandbox's end: whatever Lithops left behind in the session goes, then its files.
                with contextlib.suppress(ProcessLookupError, UnboundLocalError):
                    os.killpg(process.pid, signal.SIGKILL)
                time.sleep(0.2)
                shutil.rmtree(tmp, ignore_errors=True)
            if process.returncode != 0:
                raise RuntimeError(f"direct run exited {process.returncode}: {stderr[-2000:]}")
            stamps = _stamps(stdout)
            return {
                "total": total,
                "overhead": stamps["START"] - wall0,
                "script": stamps["END"] - stamps["START"],
            }

        direct_run()  # warm-up
        platform, direct = [], []
        for _ in range(rounds):  # alternating: drift of a shared machine hits both alike
            platform.append(platform_run())
            direct.append(direct_run())
        startup = timed_runs(lambda: subprocess.run([python, "-c", "pass"], check=True), repeat=env.rounds(5, 15))
    finally:
        worker.stop()

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    overhead = med(platform, "overhead")
    print(
        f"   {TASKS} tasks x {TASK_SECONDS * 1000:.0f} ms on Lithops localhost, runtime {runtime.pk} "
        f"(Python {runtime.python_version}, {runtime.builder}); medians of {rounds} alternating runs after one "
        "warm-up each",
        flush=True,
    )
    print(
        f"   overhead create_run -> script's first line: {overhead * 1000:.0f} ms (must <= "
        f"{OVERHEAD_TARGET_S * 1000:.0f} ms, goal <= {OVERHEAD_GOAL_S * 1000:.0f} ms: "
        f"{'met' if overhead <= OVERHEAD_GOAL_S else 'not yet'}); direct spawn -> first line "
        f"{med(direct, 'overhead') * 1000:.0f} ms; `python -c pass` {statistics.median(startup) * 1000:.0f} ms",
        flush=True,
    )
    steps = [
        ("create_run() call (insert + dispatch + send)", "create_run"),
        ("create_run -> dispatched_at", "to_dispatched"),
        ("dispatched -> claimed by the worker (Celery)", "dispatched_to_claimed"),
        ("claimed -> running (snapshot, runtime, restore, plan)", "claimed_to_running"),
        ("running -> script's first line (sandbox + interp.)", "running_to_start"),
        ("script body (import lithops, map, get_result)", "script"),
        ("script's last line -> finished_at", "end_to_finished"),
        ("finished_at -> seen by the poller", "finished_to_seen"),
    ]
    print("   where the platform's time goes (medians, ms):", flush=True)
    for label, key in steps:
        values = " ".join(f"{r[key] * 1000:7.0f}" for r in platform)
        print(f"     {label:<54} {med(platform, key) * 1000:7.0f}   (runs: {values})", flush=True)
    print(f"     {'direct: script body':<54} {med(direct, 'script') * 1000:7.0f}", flush=True)
    namespace = _network_namespace_cost(env.rounds(7, 15))
    totals = [r["total"] for r in platform], [r["total"] for r in direct]
    overheads = [r["overhead"] for r in platform]
    return [
        Result(f"Lithops map {TASKS} x {TASK_SECONDS * 1000:.0f} ms via the platform", statistics.median(totals[0]),
               statistics.median(totals[1]), "direct subprocess", target=RATIO_TARGET, subject_runs=totals[0],
               baseline_runs=totals[1]),
        Result("create_run -> script's first line", overhead, OVERHEAD_TARGET_S, "target 300 ms", target=1.0,
               subject_runs=overheads),
        Result("create_run -> script's first line", overhead, statistics.median(startup), "python -c pass",
               subject_runs=overheads, baseline_runs=startup),
        namespace,
    ]  # fmt: skip


def _network_namespace_cost(rounds: int) -> Result:
    """The sandbox's filtered network (slirp4netns + in-namespace nftables) against a loopback-only namespace:
    ``/bin/true`` in the sandbox, alternating the two modes, so a busy moment hits both alike."""
    from django.test import override_settings

    from pyrun_web import sandbox
    from pyrun_web.sandbox import SandboxSpec

    workdir = Path(tempfile.mkdtemp(prefix="pyrun-bench-ns-"))
    times: dict[str, list[float]] = {"filtered": [], "none": []}
    setup: list[float] = []
    try:
        for _ in range(rounds):
            for mode in ("filtered", "none"):
                with override_settings(PYRUN_SANDBOX_NETWORK=mode):
                    started = time.perf_counter()
                    process = sandbox.popen(SandboxSpec(argv=["/bin/true"], workdir=workdir))
                    process.wait()
                    times[mode].append(time.perf_counter() - started)
                    if mode == "filtered":
                        setup.append(process.network_setup_seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    filtered, none = statistics.median(times["filtered"]), statistics.median(times["none"])
    print(
        f"   network namespace: sandbox start {filtered * 1000:.0f} ms filtered vs {none * 1000:.0f} ms loopback-only "
        f"(median of {rounds}, range {min(times['filtered']) * 1000:.0f}-{max(times['filtered']) * 1000:.0f}"
        f" ms); slirp4netns + nftables setup {statistics.median(setup) * 1000:.0f} ms "
        f"(range {min(setup) * 1000:.0f}-{max(setup) * 1000:.0f} ms); load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return Result("sandbox start, filtered network", filtered, none, "loopback-only namespace",
                  subject_runs=times["filtered"], baseline_runs=times["none"])  # fmt: skip
