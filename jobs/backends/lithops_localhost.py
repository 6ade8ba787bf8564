"""Lithops on local processes: the task workers are the runtime's interpreter, inside the job's sandbox."""

from __future__ import annotations

import os
from typing import Any

from jobs.backends import aws_credentials
from jobs.backends.base import LaunchPlan
from jobs.backends.lithops_common import config_env, storage_note
from jobs.backends.lithops_config import build_lithops_config
from runtimes.models import Runtime


class LithopsLocalhost:
    name = "lithops-localhost"
    target = Runtime.Target.LOCAL.value

    def plan(self, *, job: Any, runtime: Any, interpreter: str, settings: dict[str, Any]) -> LaunchPlan:
        # Only aws_s3 storage needs the org's account; localhost storage runs without one.
        account = aws_credentials.org_account(job.org) if settings["storage"] == "aws_s3" else None
        # The absolute interpreter path and version 1 (one long-lived worker interpreter) come from here.
        config = build_lithops_config(
            settings, runtime_python=interpreter, org_cloud_account=account, backend="localhost"
        )
        plan = LaunchPlan(env={})
        workers = config["localhost"].get("worker_processes")
        shown = f"{workers} worker processes" if workers else f"one worker process per CPU ({os.cpu_count() or 1})"
        lithops = config["lithops"]
        notes = [
            f"Lithops localhost (v1), {shown}",
            storage_note(config),
            f"Lithops log level {lithops['log_level']}, task timeout {lithops['execution_timeout']} s",
        ]
        if "aws" in config:
            access = aws_credentials.apply(config, account, job_id=job.id)
            plan = LaunchPlan(env=access.env, ro_binds=access.ro_binds, renewals=access.renewals)
            notes += access.notes
        plan.env.update(config_env(config))
        plan.notes = notes
        return plan
