"""The org's AWS credentials for one job, in the two places a job reads them: Lithops' ``aws`` config section and
the standard ``AWS_*`` environment variables (for boto3 in user code).

They are the org's own credentials given to the org's own code; they go only into the sandbox's environment and
never into a note or a log line. A role is assumed for each job with the platform's credentials, so the job holds
a temporary session, renewed while it runs, never a long-lived key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.backends.role_credentials import RoleCredentials
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import aws
from pyrun_web.tenancy.models import CloudAccount

# Not secrets, and a job must reach the same endpoints as the platform (a private AWS endpoint, moto in tests).
_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"


def org_account(org: Any, account_id: int | None = None) -> CloudAccount | None:
    """The account a job acts as: ``account_id`` when given (the one a runtime was published with), else the
    org's first account by name (as the runtime publishers choose)."""
    accounts = CloudAccount.objects.for_org(org)
    if account_id is not None:
        return accounts.filter(pk=account_id).first()
    return accounts.order_by("name", "pk").first()


@dataclass
class AwsAccess:
    """What a job needs to act as the account: its ``AWS_*`` environment, the folders to bind, the notes for the
    job log, and the renewal of an assumed role's session (the runner starts and closes it)."""

    env: dict[str, str]
    notes: list[str]
    ro_binds: list[Path] = field(default_factory=list)
    renewals: list[RoleCredentials] = field(default_factory=list)


def apply(config: dict[str, Any], account: CloudAccount, *, job_id: Any) -> AwsAccess:
    """Complete the ``aws`` section of a Lithops config for ``account``.

    Access keys go in as they are. A role's session goes through a renewed credential process instead (see
    :mod:`jobs.backends.role_credentials`): the section gets no keys, so Lithops, like boto3 in user code,
    takes the SDK's default chain, which finds the credential process in ``AWS_CONFIG_FILE``."""
    if account.auth_type == CloudAccount.AuthType.ROLE:
        role = RoleCredentials(account, job_id=job_id)
        env = {**role.environment(), **_region_and_endpoints(config["aws"]["region"])}
        minutes = aws.ROLE_SESSION_SECONDS // 60
        notes = [f"AWS credentials: role {account.role_arn} assumed for this job, renewed every {minutes} min"]
        access = AwsAccess(env=env, notes=notes, ro_binds=[role.directory], renewals=[role])
    else:
        if not account.access_key_id or not account.secret_access_key:
            raise PyrunError(
                "tenancy:user:bad-cloud-account", detail=f"Cloud account {account.name!r} has no access keys."
            )
        config["aws"].update(access_key_id=account.access_key_id, secret_access_key=account.secret_access_key)
        env = {
            "AWS_ACCESS_KEY_ID": account.access_key_id,
            "AWS_SECRET_ACCESS_KEY": account.secret_access_key,
            **_region_and_endpoints(config["aws"]["region"]),
        }
        access = AwsAccess(env=env, notes=[f"AWS credentials: access keys of cloud account {account.name!r}"])
    if _ENDPOINT_PREFIX in access.env:
        access.notes.append(f"AWS endpoint: {access.env[_ENDPOINT_PREFIX]}")
    return access


def _region_and_endpoints(region: str) -> dict[str, str]:
    env = {"AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    env.update({name: value for name, value in os.environ.items() if name.startswith(_ENDPOINT_PREFIX)})
    return env
