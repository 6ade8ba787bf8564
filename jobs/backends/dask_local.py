"""Dask on a ``LocalCluster`` the user's script creates inside the job.

Nothing is started for the script: Dask reads ``DASK_*`` variables into its config when imported, so a cluster the
script creates picks up the preload modules and the temporary directory set here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jobs.backends.base import LaunchPlan
from monitoring.injection import DASK_PRELOAD_MODULES
from runtimes.models import Runtime

SANDBOX_TMP = "/tmp"  # noqa: S108 (the sandbox's private tmpfs, see pyrun_web.sandbox.TMPDIR)


def preload_env(agent_modules: Sequence[str]) -> dict[str, str]:
    """Preload ``agent_modules`` into the scheduler and every worker of a cluster made inside the job.

    Dask parses these variables as Python literals: an empty string would become ``[""]`` and fail to import,
    so "none" is spelled ``[]``.
    """
    value = json.dumps(list(agent_modules))
    return {"DASK_DISTRIBUTED__SCHEDULER__PRELOAD": value, "DASK_DISTRIBUTED__WORKER__PRELOAD": value}


class DaskLocal:
    name = "dask-local"
    target = Runtime.Target.LOCAL.value
    # The in-job agent's modules: importable in the sandbox because the runner puts the agent's folder on
    # PYTHONPATH (monitoring.injection).
    agent_modules: Sequence[str] = DASK_PRELOAD_MODULES

    def __init__(self, agent_modules: Sequence[str] | None = None) -> None:
        if agent_modules is not None:
            self.agent_modules = tuple(agent_modules)

    def plan(self, *, job: Any, runtime: Any, interpreter: str, settings: dict[str, Any]) -> LaunchPlan:
        # Dask spills and keeps worker directories here: the private tmpfs, not the read-write /workspace.
        env = {"DASK_TEMPORARY_DIRECTORY": SANDBOX_TMP, **preload_env(self.agent_modules)}
        notes = ["Dask: a LocalCluster created by the script runs inside the job (scratch space in /tmp)"]
        workers = settings.get("workers")
        if workers:
            # A hint only: LocalCluster's size is the script's choice (e.g. n_workers=int(os.environ[...])).
            env["PYRUN_DASK_WORKERS"] = str(workers)
            notes.append(f"Suggested Dask workers: {workers} (PYRUN_DASK_WORKERS)")
        return LaunchPlan(env=env, notes=notes)
