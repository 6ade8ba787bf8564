"""The admin's "test connection" of a cloud account: STS says who the stored credentials are.

A role account is first probed WITHOUT an external id: if STS lets the platform in, the role's trust policy does
not require the org's external id and any tenant who enters its ARN could act as it, so the test fails with
``tenancy:user:role-without-external-id`` instead of reporting a working connection."""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.aws import call, platform_external_id, role_open_without_external_id, session_for

# An operator waits for the answer on an admin page: fail fast instead of boto3's retries and 60 s reads.
STS_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})


def check_connection(account: Any) -> dict[str, Any]:
    """``{"ok": True, "account", "arn"}`` for credentials STS accepts (a role is assumed first, with the
    platform's own credentials and the org's external id), else ``{"ok": False, "error": {"id", "message"}}``.
    Never raises."""
    try:
        if account.auth_type == "role" and role_open_without_external_id(account, config=STS_CONFIG):
            raise PyrunError(
                "tenancy:user:role-without-external-id",
                role_arn=account.role_arn,
                external_id=platform_external_id(account),
            )
        session = session_for(account, session_name="pyrun-console")
        identity = call("sts:GetCallerIdentity", lambda: session.client("sts", config=STS_CONFIG).get_caller_identity())
    except PyrunError as error:
        return {"ok": False, "error": {"id": error.id, "message": error.message}}
    return {"ok": True, "account": identity["Account"], "arn": identity["Arn"]}
