"""Lithops on AWS Lambda, with the runtime published as the Lambda layer (environment.yml) or the container
image (Dockerfile) that Lithops deploys its functions from.

Lithops deploys a layer-based runtime only when ``aws_lambda.runtime`` equals ``default-runtime-v<pyver>`` of the
interpreter running the job, and attaches the layer the publisher named after that runtime name and the
runtime's namespace (see ``runtimes.publishers.lambda_layer``). A container runtime is any other name, which
Lithops looks up by tag in the ECR repository the image publisher pushed to (``runtimes.publishers.ecr``); the
job then runs in that image's filesystem, so its client has the function's Python and Lithops. Either way the
config must carry exactly the runtime name and namespace recorded at publication.
"""

from __future__ import annotations

from typing import Any

from jobs.backends import aws_credentials
from jobs.backends.base import LaunchPlan
from jobs.backends.lithops_common import config_env, storage_note
from jobs.backends.lithops_config import build_lithops_config
from pyrun_web.errors import PyrunError
from runtimes.models import Runtime
from runtimes.publishers.lambda_layer import lithops_runtime_name


class LithopsAwsLambda:
    name = "lithops-aws-lambda"
    target = Runtime.Target.LAMBDA_LAYER.value

    def plan(self, *, job: Any, runtime: Any, interpreter: str, settings: dict[str, Any]) -> LaunchPlan:
        lambda_runtime, namespace = self._published(runtime)
        account = self._account(job, runtime)
        config = build_lithops_config(
            settings,
            runtime_python=interpreter,
            org_cloud_account=account,
            backend="aws_lambda",
            lambda_runtime=lambda_runtime,
        )
        if namespace:
            config["aws_lambda"]["namespace"] = namespace
        access = aws_credentials.apply(config, account, job_id=job.id)
        env = access.env
        section = config["aws_lambda"]
        notes = [
            f"Lithops on AWS Lambda in {account.region} (cloud account {account.name!r}): runtime {lambda_runtime}"
            + (f", namespace {namespace}" if namespace else " (container image)"),
            f"Lambda functions: {section['runtime_memory']} MB, {section['runtime_timeout']} s timeout, "
            f"up to {section['max_workers']} workers",
            storage_note(config),
            *access.notes,
        ]
        env.update(config_env(config))
        return LaunchPlan(env=env, notes=notes, ro_binds=access.ro_binds, renewals=access.renewals)

    def _published(self, runtime: Any) -> tuple[str, str]:
        """``(runtime name, namespace)`` the layer or image was published under."""
        extra = runtime.extra or {}
        lambda_runtime, namespace = extra.get("lithops_runtime"), extra.get("lithops_namespace", "")
        if runtime.target == Runtime.Target.IMAGE:
            if not lambda_runtime or not extra.get("ecr_repository"):
                raise self._unusable(runtime, "its image was not pushed to ECR")
            return lambda_runtime, ""
        if runtime.target != self.target or not lambda_runtime or not namespace:
            raise self._unusable(runtime, "it has no Lambda layer")
        # Lithops would otherwise look for (and try to build) a layer for the interpreter's Python instead.
        if lithops_runtime_name(runtime.python_version or "?") != lambda_runtime:
            reason = f"its layer ({lambda_runtime}) is not for its interpreter's Python {runtime.python_version}"
            raise self._unusable(runtime, reason)
        return lambda_runtime, namespace

    def _unusable(self, runtime: Any, reason: str) -> PyrunError:
        return PyrunError("job:platform:runtime-unusable", runtime=runtime.pk, backend=self.name, reason=reason)

    def _account(self, job: Any, runtime: Any) -> Any:
        """The account the layer was published in: under another account Lithops would not find it and would
        try to build a layer of its own."""
        published_with = (runtime.extra or {}).get("cloud_account_id")
        account = aws_credentials.org_account(job.org, published_with)
        if account is None and published_with is not None:
            raise PyrunError("job:user:layer-account-missing", runtime=runtime.pk)
        if account is None:
            raise PyrunError("workspaces:user:cloud-account-required", what="aws_lambda with aws_s3 storage")
        return account
