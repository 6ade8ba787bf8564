"""The executor backends a run may ask for, by name: the platform's one list.

Built-in backends, plus the operator's ``PYRUN_EXTRA_BACKENDS`` (``name=package.module.Class,...``; a built-in
name cannot be replaced). Names map to dotted class paths, registered as Lithops registers its compute backends.
The list lives in the core so that an app below jobs can validate a name (a workspace's default executor) without
importing jobs; ``jobs.backends.get_backend`` imports and builds the classes.
"""

from __future__ import annotations

from django.conf import settings

BACKENDS: dict[str, str] = {
    "lithops-localhost": "jobs.backends.lithops_localhost.LithopsLocalhost",
    "lithops-aws-lambda": "jobs.backends.lithops_aws_lambda.LithopsAwsLambda",
    "dask-local": "jobs.backends.dask_local.DaskLocal",
    "dask-scheduler": "jobs.backends.dask_scheduler.DaskScheduler",
}


def registry() -> dict[str, str]:
    """Every backend's name and class path; read on each call, so a changed setting counts at once."""
    extra = getattr(settings, "PYRUN_EXTRA_BACKENDS", None) or {}
    return {**extra, **BACKENDS}


def backend_names() -> list[str]:
    """Every name a run may ask for, sorted (the API's choices)."""
    return sorted(registry())
