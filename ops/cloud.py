"""The admin's "test connection" of a cloud account: STS says who the stored credentials are."""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from pyrun_web.errors import PyrunError
from runtimes.publishers.aws import call, session_for

# An operator waits for the answer on an admin page: fail fast instead of boto3's retries and 60 s reads.
STS_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})


def check_connection(account: Any) -> dict[str, Any]:
    """``{"ok": True, "account", "arn"}`` for credentials STS accepts (a role is assumed first, with the
    platform's own credentials), else ``{"ok": False, "error": {"id", "message"}}``. Never raises."""
    try:
        session = session_for(account, session_name="pyrun-console")
        identity = call("sts:GetCallerIdentity", lambda: session.client("sts", config=STS_CONFIG).get_caller_identity())
    except PyrunError as error:
        return {"ok": False, "error": {"id": error.id, "message": error.message}}
    return {"ok": True, "account": identity["Account"], "arn": identity["Arn"]}
