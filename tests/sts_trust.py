"""moto with a trust policy's ``sts:ExternalId`` condition enforced, and every AssumeRole it answered recorded.

moto assumes any role for anyone. Real STS checks the role's trust policy: with a
``{"StringEquals": {"sts:ExternalId": "..."}}`` condition, an AssumeRole without that exact id is AccessDenied.
``record_sts_calls`` patches moto's STS backend (the AWS stand-in, not our code) to do the same for roles that
exist in moto's IAM, and returns the list of ``(role_arn, external_id)`` of every AssumeRole STS received. A test
module wraps it in a fixture::

    @pytest.fixture
    def sts_calls(aws_mock, monkeypatch):
        return record_sts_calls(monkeypatch)
"""

from __future__ import annotations

import json

import pytest
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend


def required_external_ids(role_arn: str) -> set[str] | None:
    """The external ids the role's trust policy accepts, or None when it requires none (or does not exist)."""
    account_id = role_arn.split(":")[4]
    try:
        role = iam_backends[account_id]["global"].get_role_by_arn(role_arn)
    except Exception:
        return None
    document = role.assume_role_policy_document
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return None
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    required: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        value = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if value:
            required.update([value] if isinstance(value, str) else value)
    return required or None


def record_sts_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    calls: list[tuple[str, str | None]] = []
    original = STSBackend.assume_role

    def assume_role(self, **kwargs):
        calls.append((kwargs["role_arn"], kwargs.get("external_id")))
        required = required_external_ids(kwargs["role_arn"])
        if required is not None and kwargs.get("external_id") not in required:
            raise STSClientError(
                "AccessDenied", f"Not authorized to perform: sts:AssumeRole on resource: {kwargs['role_arn']}"
            )
        return original(self, **kwargs)

    monkeypatch.setattr(STSBackend, "assume_role", assume_role)
    return calls
