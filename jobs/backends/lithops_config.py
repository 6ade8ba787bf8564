"""The Lithops configuration of one run, made from its workspace's execution settings
(``workspaces.execution_settings``).

``build_lithops_config`` is pure: the Lithops backends call it at run time with the runtime's interpreter and the
org's cloud account, and pass the result to the job as ``LITHOPS_CONFIG`` (JSON).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pyrun_web.errors import PyrunError
from workspaces.execution_settings import BACKENDS, with_defaults

LAMBDA_MAX_WORKERS = 1000


def build_lithops_config(
    workspace_config: Mapping[str, Any] | None,
    *,
    runtime_python: str,
    org_cloud_account: Any = None,
    backend: str | None = None,
    lambda_runtime: str | None = None,
) -> dict[str, Any]:
    """The Lithops configuration dict for one run.

    ``runtime_python``: absolute path of the runtime's interpreter (Lithops looks a bare name up on PATH).
    ``org_cloud_account``: a ``CloudAccount``, needed for aws_lambda or aws_s3; with access keys they are put in
    the ``aws`` section, with an assumed role the caller adds the session credentials it obtained.
    ``backend``: overrides the workspace's backend for this run. ``lambda_runtime``: the Lambda runtime name.
    """
    settings = with_defaults(workspace_config)
    backend = backend or settings["backend"]
    if backend not in BACKENDS:
        raise ValueError(f"unsupported Lithops backend {backend!r}")
    storage = settings["storage"]
    if backend == "aws_lambda" and storage != "aws_s3":
        raise PyrunError("workspaces:user:lambda-needs-s3")
    lithops: dict[str, Any] = {"backend": backend, "storage": storage, "log_level": settings["log_level"]}
    config: dict[str, Any] = {"lithops": lithops}
    if backend == "localhost":
        if not os.path.isabs(runtime_python):
            raise ValueError(f"runtime_python must be an absolute path, got {runtime_python!r}")
        # Version 1 runs tasks in one long-lived interpreter: ~30x faster than v2's interpreter per task.
        localhost: dict[str, Any] = {"runtime": runtime_python, "version": 1}
        if settings["workers"]:
            localhost["worker_processes"] = settings["workers"]
        config["localhost"] = localhost
        lithops["execution_timeout"] = settings["runtime_timeout"]
    else:
        if not settings["lambda_execution_role"]:
            raise PyrunError("workspaces:user:lambda-role-required")
        aws_lambda: dict[str, Any] = {
            "execution_role": settings["lambda_execution_role"],
            "runtime_memory": settings["runtime_memory"],
            "runtime_timeout": settings["runtime_timeout"],
            "max_workers": settings["workers"] or LAMBDA_MAX_WORKERS,
        }
        if lambda_runtime:
            aws_lambda["runtime"] = lambda_runtime
        config["aws_lambda"] = aws_lambda
    if backend == "aws_lambda" or storage == "aws_s3":
        if org_cloud_account is None:
            raise PyrunError("workspaces:user:cloud-account-required", what=f"{backend} with {storage} storage")
        config["aws"] = _aws_section(org_cloud_account)
    if storage == "aws_s3":
        bucket = settings["storage_bucket"] or getattr(org_cloud_account, "bucket", "")
        if not bucket:
            raise PyrunError("workspaces:user:bucket-required")
        config["aws_s3"] = {"storage_bucket": bucket, "region": org_cloud_account.region}
    return config


def _aws_section(account: Any) -> dict[str, Any]:
    section: dict[str, Any] = {"region": account.region}
    if account.auth_type == "access_keys":
        section["access_key_id"] = account.access_key_id
        section["secret_access_key"] = account.secret_access_key
    return section
