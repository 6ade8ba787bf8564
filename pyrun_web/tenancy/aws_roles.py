"""The trust policy a tenant pastes into their AWS role: the platform's principal may assume it only with the
org's platform-owned external id (``Organization.aws_external_id``), which every AssumeRole sends."""

from __future__ import annotations

from typing import Any

from django.conf import settings

PLACEHOLDER_PRINCIPAL = "arn:aws:iam::<platform-account-id>:root"
PLACEHOLDER_NOTE = (
    "Replace <platform-account-id> with the AWS account id of this platform (ask its operators; they set "
    "PYRUN_AWS_PRINCIPAL_ARN to show it here)."
)


def principal_arn() -> str:
    return settings.PYRUN_AWS_PRINCIPAL_ARN or PLACEHOLDER_PRINCIPAL


def trust_policy(external_id: str) -> dict[str, Any]:
    """The role's trust relationship: only the platform, only with this org's external id."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal_arn()},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def trust_policy_note() -> str:
    """What to do with the policy (the placeholder to fill in when the operator did not configure a principal)."""
    note = "Paste this as the role's trust relationship (IAM > Roles > Trust relationships > Edit trust policy)."
    return note if settings.PYRUN_AWS_PRINCIPAL_ARN else f"{note} {PLACEHOLDER_NOTE}"
