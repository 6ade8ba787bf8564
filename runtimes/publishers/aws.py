"""One job: a boto3 ``Session`` acting as an organisation's ``CloudAccount``.

Access keys are used as they are; a role is assumed through STS with the platform's own credentials (the
default boto3 chain of the worker) and the account's external id. boto3 itself honours ``AWS_ENDPOINT_URL``
(and ``AWS_ENDPOINT_URL_<SERVICE>``), which is how tests point every client at moto.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import botocore.exceptions

from pyrun_web.errors import PyrunError

T = TypeVar("T")

ROLE_SESSION_SECONDS = 3600  # long enough for a layer upload or an image push, the AWS default maximum for roles


def assume_role(account: Any, *, session_name: str = "pyrun-runtimes") -> dict[str, Any]:
    """STS ``Credentials`` (AccessKeyId, SecretAccessKey, SessionToken, Expiration) of ``account``'s role."""
    sts = boto3.Session(region_name=account.region).client("sts")
    params: dict[str, Any] = {
        "RoleArn": account.role_arn,
        "RoleSessionName": f"{session_name}-{account.pk or 0}"[:64],
        "DurationSeconds": ROLE_SESSION_SECONDS,
    }
    if account.external_id:
        params["ExternalId"] = account.external_id
    try:
        return sts.assume_role(**params)["Credentials"]
    except botocore.exceptions.ClientError as exc:
        raise PyrunError("aws:user:assume-role-failed", role_arn=account.role_arn, detail=_detail(exc)) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise PyrunError("aws:platform:unreachable", operation="sts:AssumeRole", detail=str(exc)) from exc


def session_for(account: Any, *, session_name: str = "pyrun-runtimes") -> boto3.Session:
    """A session with ``account``'s credentials in its region (``account`` is a ``CloudAccount``)."""
    if account.auth_type == "role":
        credentials = assume_role(account, session_name=session_name)
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=account.region,
        )
    return boto3.Session(
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        region_name=account.region,
    )


def caller_user_id(session: boto3.Session) -> str:
    """The ``UserId`` STS reports for this session (Lithops derives its resource names from it)."""
    return call("sts:GetCallerIdentity", lambda: session.client("sts").get_caller_identity())["UserId"]


def call(operation: str, fn: Callable[[], T]) -> T:
    """Run one AWS request, turning boto errors into registered ones: a refusal is the account's business
    (credentials, permissions, quotas), an unreachable endpoint is ours."""
    try:
        return fn()
    except botocore.exceptions.ClientError as exc:
        raise PyrunError("aws:user:request-failed", operation=operation, detail=_detail(exc)) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise PyrunError("aws:platform:unreachable", operation=operation, detail=str(exc)) from exc


def _detail(exc: botocore.exceptions.ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
