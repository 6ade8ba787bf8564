"""Per-workspace execution settings: what the platform supports, their defaults, and the rules between them.

The executor a run uses by default is any registered backend (``pyrun_web.backends``, the platform's one list).
The Lithops config these settings make for a run is built by the jobs app (``jobs.backends.lithops_config``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyrun_web.errors import PyrunError

BACKENDS = ("localhost", "aws_lambda")
STORAGES = ("localhost", "aws_s3")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The Lithops backend each built-in Lithops executor runs on (the other executors do not use Lithops).
EXECUTOR_BACKEND = {"lithops-localhost": "localhost", "lithops-aws-lambda": "aws_lambda"}

MEMORY_MB = (128, 10240)  # AWS Lambda's limits
WORKERS = (1, 1000)
# Lambda stops a function after 15 minutes; a local task is bounded by the job's own time limit instead.
TIMEOUT_MAX = {"aws_lambda": 900, "localhost": 86400}

DEFAULTS: dict[str, Any] = {
    "default_executor": "lithops-localhost",
    "backend": "localhost",
    "storage": "localhost",
    "runtime_memory": 256,
    "runtime_timeout": 180,
    "workers": None,
    "log_level": "INFO",
    "storage_bucket": "",
    "lambda_execution_role": "",
    "dask_scheduler_address": "",
}


def with_defaults(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Stored settings completed with today's defaults (rows saved before a setting existed get its default)."""
    stored = settings or {}
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def problems(settings: Mapping[str, Any]) -> dict[str, str]:
    """Rules that span several settings, as ``{field: message}`` (empty when the combination is valid)."""
    found: dict[str, str] = {}
    backend = settings["backend"]
    needed_backend = EXECUTOR_BACKEND.get(settings["default_executor"])
    if needed_backend and needed_backend != backend:
        error = PyrunError(
            "workspaces:user:executor-backend-mismatch", executor=settings["default_executor"], backend=needed_backend
        )
        found["backend"] = error.message
    if backend == "aws_lambda" and settings["storage"] != "aws_s3":
        found["storage"] = PyrunError("workspaces:user:lambda-needs-s3").message
    if not 1 <= settings["runtime_timeout"] <= TIMEOUT_MAX[backend]:
        error = PyrunError("workspaces:user:timeout-out-of-range", limit=TIMEOUT_MAX[backend], backend=backend)
        found["runtime_timeout"] = error.message
    if settings["default_executor"] == "dask-scheduler" and not settings["dask_scheduler_address"]:
        found["dask_scheduler_address"] = PyrunError("workspaces:user:scheduler-address-required").message
    return found
