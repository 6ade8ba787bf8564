"""Executor backends, registered by dotted path as Lithops registers its compute backends.

``get_backend(name)`` imports the class on first use, so a backend's dependencies (boto3 for Lambda, distributed
for Dask) load only when a job asks for it. Operators add their own with ``PYRUN_EXTRA_BACKENDS``
(``name=package.module.Class,...``); a built-in name cannot be replaced.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from jobs.backends.base import Backend, LaunchPlan
from pyrun_web.errors import PyrunError

__all__ = ["BACKENDS", "Backend", "LaunchPlan", "backend_names", "get_backend"]

BACKENDS: dict[str, str] = {
    "lithops-localhost": "jobs.backends.lithops_localhost.LithopsLocalhost",
    "lithops-aws-lambda": "jobs.backends.lithops_aws_lambda.LithopsAwsLambda",
    "dask-local": "jobs.backends.dask_local.DaskLocal",
    "dask-scheduler": "jobs.backends.dask_scheduler.DaskScheduler",
}


def _registry() -> dict[str, str]:
    extra = getattr(settings, "PYRUN_EXTRA_BACKENDS", None) or {}
    return {**extra, **BACKENDS}


def backend_names() -> list[str]:
    """Every name a run may ask for, sorted (the API's choices)."""
    return sorted(_registry())


def get_backend(name: str) -> Backend:
    """A new instance of backend ``name``; ``job:user:bad-backend`` when there is no such backend."""
    registry = _registry()
    path = registry.get(name)
    if path is None:
        raise PyrunError("job:user:bad-backend", backend=name, choices=", ".join(sorted(registry)))
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise PyrunError("job:platform:backend-unavailable", backend=name, detail=str(exc)) from exc
    return cls()
