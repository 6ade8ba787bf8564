"""One job: a boto3 ``Session`` acting as an organisation's ``CloudAccount``. It lives next to the model because
every app that reaches AWS as a tenant uses it: runtimes (publishers), jobs (backends' credentials), ops (the
admin's connection test).

Access keys are used as they are; a role is assumed through STS with the platform's own credentials (the
default boto3 chain of the worker) and, always, the external id of the account's organisation
(``Organization.aws_external_id``): fixed by the platform, never chosen by a tenant, so an org that enters another
org's role ARN is refused by that role's trust policy (the confused deputy). boto3 itself honours ``AWS_ENDPOINT_URL``
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


def platform_external_id(account: Any) -> str:
    """The ExternalId every AssumeRole for ``account`` sends: its org's, never a value the tenant typed."""
    external_id = account.org.aws_external_id if account.org_id else ""
    if not external_id:  # fail closed: a role is never assumed without the org's id
        raise PyrunError("aws:platform:no-external-id", role_arn=account.role_arn)
    return external_id


def assume_role(account: Any, *, session_name: str = "pyrun-runtimes") -> dict[str, Any]:
    """STS ``Credentials`` (AccessKeyId, SecretAccessKey, SessionToken, Expiration) of ``account``'s role."""
    params: dict[str, Any] = {
        "RoleArn": account.role_arn,
        "RoleSessionName": f"{session_name}-{account.pk or 0}"[:64],
        "DurationSeconds": ROLE_SESSION_SECONDS,
        "ExternalId": platform_external_id(account),
    }
    sts = boto3.Session(region_name=account.region).client("sts")
    try:
        return sts.assume_role(**params)["Credentials"]
    except botocore.exceptions.ClientError as exc:
        raise PyrunError("aws:user:assume-role-failed", role_arn=account.role_arn, detail=_detail(exc)) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise PyrunError("aws:platform:unreachable", operation="sts:AssumeRole", detail=str(exc)) from exc


def role_open_without_external_id(account: Any, *, config: Any = None) -> bool:
    """Whether STS lets the platform assume ``account``'s role WITHOUT an ExternalId: then its trust policy does not
    require the org's id, and any tenant of this platform who enters the role's ARN could act as it. A refusal (or
    an unreachable STS) is False; the real AssumeRole that follows reports those."""
    sts = boto3.Session(region_name=account.region).client("sts", config=config)
    params = {"RoleArn": account.role_arn, "RoleSessionName": f"pyrun-probe-{account.pk or 0}", "DurationSeconds": 900}
    try:
        sts.assume_role(**params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return False
    return True


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
