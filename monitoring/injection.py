"""What the runner adds to a job so that the agent reports from inside it (the agent's code never enters the
user's workspace): its folder on PYTHONPATH (bound read-only), and the socket it reports to (its folder bound
read-write)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from monitoring.ingest import EventIngest
from monitoring.wire import SOCKET_ENV

AGENT_DIR = Path(__file__).resolve().parent / "agent"
# Named in DASK_DISTRIBUTED__{SCHEDULER,WORKER}__PRELOAD, so a LocalCluster made by the script loads it.
DASK_PRELOAD_MODULES = ("pyrun_agent.dask_preload",)
OUTPUT_BYTES_ENV = "PYRUN_AGENT_OUTPUT_BYTES"  # pyrun_agent.lithops_hooks.OUTPUT_ENV


def dask_preload_env(modules: Sequence[str] = DASK_PRELOAD_MODULES) -> dict[str, str]:
    """Preload ``modules`` into the scheduler and every worker of a Dask cluster made inside the job, whatever
    backend the job runs on (a Lithops script may start a LocalCluster too).

    Dask parses these variables as Python literals: an empty string would become ``[""]`` and fail to import,
    so "none" is spelled ``[]``.
    """
    value = json.dumps(list(modules))
    return {"DASK_DISTRIBUTED__SCHEDULER__PRELOAD": value, "DASK_DISTRIBUTED__WORKER__PRELOAD": value}


@dataclass
class Injection:
    env: dict[str, str]
    ro_binds: list[Path] = field(default_factory=list)
    rw_binds: list[Path] = field(default_factory=list)


def inject(ingest: EventIngest | None) -> Injection:
    """The sandbox additions for a job whose events go to ``ingest`` (None: the agent loads and stays idle)."""
    env = {"PYTHONPATH": str(AGENT_DIR), **dask_preload_env()}
    rw_binds: list[Path] = []
    if ingest is not None:
        env[SOCKET_ENV] = str(ingest.path)
        # The agent reads no more of a task's log than this (the ingest cuts again: the job is not trusted).
        env[OUTPUT_BYTES_ENV] = str(settings.PYRUN_TASK_OUTPUT_BYTES)
        rw_binds.append(ingest.directory)
    return Injection(env=env, ro_binds=[AGENT_DIR], rw_binds=rw_binds)
