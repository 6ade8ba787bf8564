"""The org's AWS credentials for one job, in the two places a job reads them: Lithops' ``aws`` config section and
the standard ``AWS_*`` environment variables (for boto3 in user code).

They are the org's own credentials given to the org's own code; they go only into the sandbox's environment and
never into a note or a log line. A role is assumed once per job with the platform's credentials, so the job holds
a temporary session, never a long-lived key.
"""

from __future__ import annotations

import os
from typing import Any

from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import CloudAccount
from runtimes.publishers import aws

# Not secrets, and a job must reach the same endpoints as the platform (a private AWS endpoint, moto in tests).
_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"


def org_account(org: Any, account_id: int | None = None) -> CloudAccount | None:
    """The account a job acts as: ``account_id`` when given (the one a runtime was published with), else the
    org's first account by name (as the runtime publishers choose)."""
    accounts = CloudAccount.objects.for_org(org)
    if account_id is not None:
        return accounts.filter(pk=account_id).first()
    return accounts.order_by("name", "pk").first()


def credentials(account: CloudAccount, *, job_id: Any) -> tuple[dict[str, str], str]:
    """``(aws section values, note)``: access keys as stored, or the session of the assumed role."""
    if account.auth_type == CloudAccount.AuthType.ROLE:
        # The session name shows up in the org's CloudTrail: name the job.
        session = aws.session_for(account, session_name=f"pyrun-job-{job_id}")
        frozen = session.get_credentials().get_frozen_credentials()
        values = {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "session_token": frozen.token,
        }
        minutes = aws.ROLE_SESSION_SECONDS // 60
        note = f"AWS credentials: role {account.role_arn} assumed for this job (session valid {minutes} min)"
        return values, note
    if not account.access_key_id or not account.secret_access_key:
        raise PyrunError("tenancy:user:bad-cloud-account", detail=f"Cloud account {account.name!r} has no access keys.")
    values = {"access_key_id": account.access_key_id, "secret_access_key": account.secret_access_key}
    return values, f"AWS credentials: access keys of cloud account {account.name!r}"


def environment(section: dict[str, Any]) -> dict[str, str]:
    """The ``AWS_*`` variables matching a Lithops ``aws`` section, plus the platform's endpoint overrides."""
    env = {
        "AWS_ACCESS_KEY_ID": section["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": section["secret_access_key"],
        "AWS_DEFAULT_REGION": section["region"],
        "AWS_REGION": section["region"],
    }
    if section.get("session_token"):
        env["AWS_SESSION_TOKEN"] = section["session_token"]
    env.update({name: value for name, value in os.environ.items() if name.startswith(_ENDPOINT_PREFIX)})
    return env


def apply(config: dict[str, Any], account: CloudAccount, *, job_id: Any) -> tuple[dict[str, str], list[str]]:
    """Complete the ``aws`` section of a Lithops config with ``account``'s credentials; returns the job's
    ``AWS_*`` environment and the notes for the job log."""
    values, note = credentials(account, job_id=job_id)
    config["aws"].update(values)
    env = environment(config["aws"])
    notes = [note]
    if _ENDPOINT_PREFIX in env:
        notes.append(f"AWS endpoint: {env[_ENDPOINT_PREFIX]}")
    return env, notes
