"""Dask on a ``LocalCluster`` the user's script creates inside the job.

Nothing is started for the script: Dask reads ``DASK_*`` variables into its config when imported, so a cluster the
script creates picks up the temporary directory set here (and the agent's preload, which every job gets).
"""

from __future__ import annotations

from typing import Any

from jobs.backends.base import LaunchPlan
from runtimes.models import Runtime

SANDBOX_TMP = "/tmp"  # noqa: S108 (the sandbox's private tmpfs, see pyrun_web.sandbox.TMPDIR)


class DaskLocal:
    name = "dask-local"
    target = Runtime.Target.LOCAL.value

    def plan(self, *, job: Any, runtime: Any, interpreter: str, settings: dict[str, Any]) -> LaunchPlan:
        # Dask spills and keeps worker directories here: the private tmpfs, not the read-write /workspace.
        # The agent's preload comes with every job, whatever its backend (monitoring.injection).
        env = {"DASK_TEMPORARY_DIRECTORY": SANDBOX_TMP}
        notes = ["Dask: a LocalCluster created by the script runs inside the job (scratch space in /tmp)"]
        workers = settings.get("workers")
        if workers:
            # A hint only: LocalCluster's size is the script's choice (e.g. n_workers=int(os.environ[...])).
            env["PYRUN_DASK_WORKERS"] = str(workers)
            notes.append(f"Suggested Dask workers: {workers} (PYRUN_DASK_WORKERS)")
        return LaunchPlan(env=env, notes=notes)
