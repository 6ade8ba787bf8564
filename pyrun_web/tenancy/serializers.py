from __future__ import annotations

import dataclasses
import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pyrun_web.tenancy import aws_roles
from pyrun_web.tenancy.models import ApiToken, CloudAccount, Invitation, Limits, Membership, Organization, Role


class LimitsSerializer(serializers.Serializer):
    """The org's limits as they apply (its own values, else the platform's): every field of ``Limits``, so a new
    limit shows here without a second list."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {field.name: serializers.IntegerField(read_only=True) for field in dataclasses.fields(Limits)}


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    # Blank or whitespace-only names are refused (trimmed before the check).
    name = serializers.CharField(max_length=120, help_text="Shown in the organisation menu; its slug is made from it.")
    limits = LimitsSerializer(read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "created_at", "limits"]
        read_only_fields = ["slug", "created_at"]

    def get_role(self, org: Organization) -> str | None:
        roles = self.context.get("roles_by_org") or {}
        return roles.get(org.id)


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)


class MembershipSerializer(serializers.ModelSerializer):
    """A member. Members join by invitation only: ``POST`` answers an invitation (``InvitationSerializer``)."""

    user = UserBriefSerializer(read_only=True)
    email = serializers.EmailField(write_only=True, required=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "email", "role", "created_at"]
        read_only_fields = ["created_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # updates only change the role
            fields["email"].required = False
            fields["email"].read_only = True
        return fields


class InvitationSerializer(serializers.ModelSerializer):
    """A pending invitation; its link is in the create response only (``NewInvitationSerializer``)."""

    invited_by = UserBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "invited_by", "created_at", "expires_at"]
        read_only_fields = ["created_at", "expires_at"]

    def validate(self, attrs: dict) -> dict:
        if "password" in getattr(self, "initial_data", {}):
            raise serializers.ValidationError(
                {"password": "Nobody sets another person's password: the invitee chooses their own."}
            )
        return attrs


class NewInvitationSerializer(InvitationSerializer):
    accept_url = serializers.URLField(read_only=True, help_text="Shown once; only a hash of its token is stored.")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "accept_url"]


class ApiTokenSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True)
    display = serializers.CharField(source="__str__", read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    expires_in_days = serializers.IntegerField(write_only=True, required=False, min_value=1, max_value=3650)

    class Meta:
        model = ApiToken
        fields = [
            "id", "name", "display", "user", "created_at", "last_used_at",
            "expires_at", "revoked_at", "is_active", "expires_in_days",
        ]  # fmt: skip
        read_only_fields = ["created_at", "last_used_at", "expires_at", "revoked_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; only a hash is stored.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class TrustPolicySerializer(serializers.Serializer):
    Version = serializers.CharField()
    Statement = serializers.ListField(child=serializers.DictField())


class CloudAccountSerializer(serializers.ModelSerializer):
    """Secrets are write-only: a read shows a hint of the access key and whether a secret is set. The external id
    is the org's, owned by the platform: shown, never written."""

    access_key_id = serializers.CharField(write_only=True, required=False, allow_blank=True)
    secret_access_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    external_id = serializers.CharField(
        source="org.aws_external_id",
        read_only=True,
        help_text="The organisation's external id, fixed by the platform and sent with every AssumeRole of a role "
        "account. Read-only: a request that sends a different value is refused with 400.",
    )
    trust_policy = serializers.SerializerMethodField(
        help_text="The trust relationship to paste into the AWS role: the platform may assume it only with this "
        "organisation's external id."
    )
    trust_policy_note = serializers.SerializerMethodField()
    access_key_hint = serializers.CharField(read_only=True)
    has_secret = serializers.BooleanField(read_only=True)

    class Meta:
        model = CloudAccount
        fields = [
            "id", "name", "provider", "auth_type", "region", "bucket", "role_arn",
            "access_key_id", "secret_access_key", "external_id", "trust_policy", "trust_policy_note",
            "access_key_hint", "has_secret", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["provider", "created_at", "updated_at"]

    @extend_schema_field(TrustPolicySerializer)
    def get_trust_policy(self, account: CloudAccount) -> dict:
        return aws_roles.trust_policy(account.org.aws_external_id)

    def get_trust_policy_note(self, account: CloudAccount) -> str:
        return aws_roles.trust_policy_note()

    def validate_external_id_not_chosen(self) -> None:
        """A tenant cannot choose the external id: any value but the org's own (a client sending back what it read)
        is a 400, so nobody believes they set one."""
        sent = self.initial_data.get("external_id") if hasattr(self.initial_data, "get") else None
        if not sent:
            return
        org = self.instance.org if self.instance is not None else getattr(self.context.get("view"), "org", None)
        if org is None or sent != org.aws_external_id:
            raise serializers.ValidationError(
                {"external_id": "The external id is set by the platform (one per organisation) and cannot be chosen."}
            )

    def validate_region(self, value: str) -> str:
        if not _REGION.match(value):
            raise serializers.ValidationError("Not an AWS region name (like eu-west-1).")
        return value

    def validate_bucket(self, value: str) -> str:
        if value and not _BUCKET.match(value):
            raise serializers.ValidationError("Not a valid S3 bucket name.")
        return value

    def validate(self, attrs: dict) -> dict:
        self.validate_external_id_not_chosen()
        # Blank secrets on update mean "keep the stored value".
        for secret in ("access_key_id", "secret_access_key"):
            if self.instance is not None and not attrs.get(secret):
                attrs.pop(secret, None)

        def current(name):
            return attrs.get(name, getattr(self.instance, name, "") if self.instance else "")

        auth_type = current("auth_type") or CloudAccount.AuthType.ACCESS_KEYS
        if auth_type == CloudAccount.AuthType.ACCESS_KEYS:
            if not (current("access_key_id") and current("secret_access_key")):
                raise serializers.ValidationError(
                    {"secret_access_key": "Access keys need both access_key_id and secret_access_key."}
                )
        elif not _ROLE_ARN.match(current("role_arn") or ""):
            raise serializers.ValidationError(
                {"role_arn": "A role account needs a role ARN like arn:aws:iam::123456789012:role/name."}
            )
        return attrs


class MeSerializer(serializers.Serializer):
    user = UserBriefSerializer()
    org = OrganizationSerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    auth = serializers.ChoiceField(choices=["token", "session"])
