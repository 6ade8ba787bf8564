"""Where a run's start-up goes: ``python -m bench.startup_profile [RUNS]`` (docs/performance.md, "Run start-up").

Runs a one-line script (it prints ``time.time()``) ``RUNS`` times through the runner *in this process*
(``jobs.runner.run_job``, as the Celery task calls it) on a throwaway platform with a warm runtime, and times each
step of the path from claim to the script's first line by wrapping the functions that make it up. Prints, per step,
the median and range over the runs. The Celery hop (create_run → claim) is what ``make bench``'s jobs module
measures with a real worker; this tool looks inside the worker's part. For a flame graph of the same loop:
``py-spy record -r 1000 -o startup.svg -- python -m bench.startup_profile 30``.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench.harness import BenchEnv

SCRIPT = "import time\nprint('START', repr(time.time()), flush=True)\n"

# (module, attribute path, label): the steps between claim and the first line, in their order on the path.
STEPS = [
    ("jobs.models", "Job.claim", "claim (conditional UPDATE)"),
    ("jobs.runner", "_take_snapshot", "snapshot (walk, tar.gz, store)"),
    ("jobs.runner", "_acquire_runtime", "runtime acquire (reuse)"),
    ("jobs.snapshots", "restore_snapshot", "restore snapshot to scratch"),
    ("jobs.backends.lithops_localhost", "LithopsLocalhost.plan", "backend plan (Lithops config)"),
    ("jobs.runner", "_start_ingest", "agent socket (EventIngest)"),
    ("jobs.joblog", "JobLog.flush", "log flushes (total)"),
    ("jobs.joblog", "JobLog.flushed", "  log totals (UPDATE)"),
    ("jobs.joblog", "JobLog.publish", "  log publish (channel layer)"),
    ("jobs.models", "Job.mark_running", "mark running (UPDATE)"),
    ("pyrun_web.sandbox", "popen", "sandbox.popen (total)"),
    ("pyrun_web.sandbox", "build_argv", "  bwrap argv (+ seccomp, memfds)"),
    ("pyrun_web.sandbox", "_cgroup_for", "  cgroup create"),
    ("pyrun_web.sandbox", "SandboxProcess.__init__", "  fork/exec bwrap"),
    ("pyrun_web.sandbox", "_child_pid", "  wait for bwrap's child pid"),
    ("pyrun_web.sandbox", "_wait_until_blocked", "  wait for bwrap's own setup"),
    ("pyrun_web.sandbox.network", "attach", "  network attach (total)"),
    ("pyrun_web.sandbox.network", "_wait_ready", "    slirp4netns ready"),
    ("pyrun_web.sandbox.network", "_start_loading_rules", "    nftables rules: start nsenter nft"),
    ("pyrun_web.sandbox.network", "_rules_loaded", "    nftables rules: wait after slirp"),
]


class Timings:
    def __init__(self) -> None:
        self.runs: list[dict[str, float]] = []
        self.current: dict[str, float] = defaultdict(float)

    def wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.current[label] += time.perf_counter() - started

        setattr(owner, name, timed)


def _install(timings: Timings) -> None:
    import importlib

    for module_name, path, label in STEPS:
        owner: object = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        timings.wrap(owner, name, label)


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 10
    with BenchEnv() as env, contextlib.ExitStack():
        from jobs import runner
        from jobs.models import JobState, LogChunk
        from jobs.services import create_run
        from pyrun_web.tenancy.services import create_tenant
        from runtimes import director
        from runtimes import services as runtimes
        from workspaces.services import create_workspace

        # Builds and runs in this process: no worker, so create_run's message waits unread in Redis.
        runtimes.send_build = lambda runtime_id, task_id: director.run_build(runtime_id, task_id)
        org, user, _ = create_tenant("bench-startup", "bench-startup@example.com")
        workspace = create_workspace(org=org, user=user, name="Startup", template="lithops")
        (Path(workspace.path) / "first_line.py").write_text(SCRIPT)
        runtimes.ensure_workspace_runtime(workspace.spec_source(), user=user)
        timings = Timings()
        _install(timings)
        totals: list[dict[str, float]] = []
        for index in range(runs + 1):  # the first is a warm-up (imports, page cache)
            job = create_run(workspace, user, "first_line.py")
            timings.current = defaultdict(float)
            wall0 = time.time()
            runner.run_job(job.pk, task_id="profile", worker="profile")
            job.refresh_from_db()
            text = "".join(LogChunk.objects.filter(job=job, stream="stdout").values_list("text", flat=True))
            if job.state != JobState.SUCCEEDED:
                print(f"job {job.pk} {job.state}: {job.error_message}", file=sys.stderr)
                return 1
            first_line = float(text.split()[1])
            row = dict(timings.current)
            row["claim -> script's first line"] = first_line - wall0
            row["running_at -> script's first line"] = first_line - job.running_at.timestamp()
            row["claimed -> running_at"] = job.running_at.timestamp() - job.started_at.timestamp()
            if index:
                totals.append(row)
        print(f"\n{runs} runs after one warm-up, data dir {env.data_dir} (medians, range; ms)")
        labels = [label for _, _, label in STEPS] + [
            "claimed -> running_at",
            "running_at -> script's first line",
            "claim -> script's first line",
        ]
        for label in labels:
            values = [row.get(label, 0.0) * 1000 for row in totals]
            print(f"  {label:<40} {statistics.median(values):7.1f}   ({min(values):.1f}-{max(values):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
