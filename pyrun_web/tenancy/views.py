from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from pyrun_web.api.context import SESSION_ORG_KEY, resolve_membership
from pyrun_web.api.viewsets import TenantCreateListRetrieveDestroyViewSet, TenantModelViewSet
from pyrun_web.audit.models import Via
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import services
from pyrun_web.tenancy.models import ApiToken, CloudAccount, Invitation, Membership, Organization, Role
from pyrun_web.tenancy.serializers import (
    ApiTokenSerializer,
    CloudAccountSerializer,
    InvitationSerializer,
    MembershipSerializer,
    MeSerializer,
    NewApiTokenSerializer,
    NewInvitationSerializer,
    OrganizationSerializer,
)


class OrganizationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The organisations the caller belongs to. Any user may create one and becomes its owner."""

    serializer_class = OrganizationSerializer
    permission_classes = [IsAuthenticated]
    queryset = Organization.objects.all()
    object_roles = {"update": Role.ADMIN, "partial_update": Role.ADMIN, "destroy": Role.OWNER}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Organization.objects.none()
        orgs = Organization.objects.for_user(self.request.user)
        if isinstance(self.request.auth, ApiToken):  # a token sees only the org it acts in
            orgs = orgs.filter(pk=self.request.auth.org_id)
        return orgs

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if self.request.user.is_authenticated:
            context["roles_by_org"] = dict(
                Membership.objects.filter(user=self.request.user).values_list("org_id", "role")
            )
        return context

    def check_object_permissions(self, request, obj: Organization) -> None:
        super().check_object_permissions(request, obj)
        needed = self.object_roles.get(self.action)
        if needed is not None:
            membership = Membership.objects.get(org=obj, user=request.user)
            if not membership.can(needed):
                raise PyrunError("auth:user:role-required", role=needed.value, org=obj.slug)

    def perform_create(self, serializer) -> None:
        serializer.instance = services.create_organization_by(self.request.user, serializer.validated_data["name"])
        serializer.context["roles_by_org"][serializer.instance.id] = Role.OWNER.value

    @extend_schema(request=None, responses=OrganizationSerializer)
    @action(detail=True, methods=["post"])
    def select(self, request, pk=None):
        """Make this the organisation the browser session acts in."""
        org = self.get_object()
        request.session[SESSION_ORG_KEY] = org.slug
        return Response(self.get_serializer(org).data)


class MeView(APIView):
    """Who the caller is, and which org and role the request acts with."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        membership = resolve_membership(request)
        data = {
            "user": request.user,
            "org": membership.org,
            "role": membership.role,
            "auth": "token" if isinstance(request.auth, ApiToken) else "session",
        }
        context = {"roles_by_org": {membership.org_id: membership.role}}
        return Response(MeSerializer(data, context=context).data)


class MembershipViewSet(TenantModelViewSet):
    """Members of the current org. Admins add, change and remove; anyone may leave."""

    serializer_class = MembershipSerializer
    queryset = Membership.objects.select_related("user")
    write_role = Role.ADMIN
    action_roles = {"destroy": Role.VIEWER}  # leaving is allowed to all; services check the rest
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["role"]

    @extend_schema(request=MembershipSerializer, responses={201: NewInvitationSerializer})
    def create(self, request, *args, **kwargs):
        """Invite someone: the same as ``POST invitations/`` (members join by accepting an invitation)."""
        return invite(self, request)

    def perform_update(self, serializer) -> None:
        role = serializer.validated_data.get("role", serializer.instance.role)
        services.change_role(serializer.instance, role, by=self.membership)

    def perform_destroy(self, instance: Membership) -> None:
        services.remove_member(instance, by=self.membership)


def invite(view, request) -> Response:
    serializer = InvitationSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data

    def accept_url(token: str) -> str:
        return request.build_absolute_uri(reverse("invitation-accept", args=[token]))

    invitation, url = services.invite_member(
        view.org, data["email"], data.get("role", Role.MEMBER), by=view.membership, accept_url=accept_url
    )
    invitation.accept_url = url
    return Response(NewInvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationViewSet(TenantCreateListRetrieveDestroyViewSet):
    """Pending invitations of the current org (admins). The link is shown once, at creation; delete revokes."""

    serializer_class = InvitationSerializer
    queryset = Invitation.objects.select_related("invited_by")
    write_role = Role.ADMIN
    action_roles = {"list": Role.ADMIN, "retrieve": Role.ADMIN}

    def get_queryset(self):
        invitations = super().get_queryset()
        return invitations if getattr(self, "swagger_fake_view", False) else invitations.pending()

    @extend_schema(responses={201: NewInvitationSerializer})
    def create(self, request, *args, **kwargs):
        return invite(self, request)

    def perform_destroy(self, instance: Invitation) -> None:
        services.revoke_invitation(instance, by=self.request.user, via=Via.API)


class ApiTokenViewSet(TenantCreateListRetrieveDestroyViewSet):
    """Your API tokens in the current org. The key is shown once, at creation; delete revokes.

    Admins see and revoke every token of the org with ``?all=true``. A token is always created for the caller
    (nobody mints one for someone else) and acts with the caller's role in this org, whatever it is at each
    request. Created with a token, it expires no later than that token (400 auth:user:token-outlives-parent).
    """

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.select_related("user")
    write_role = Role.VIEWER  # a token carries its owner's role, so anyone may hold one

    def get_queryset(self):
        tokens = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return tokens
        see_all = self.request.query_params.get("all") == "true" or self.action == "destroy"
        if not (see_all and self.membership.can(Role.ADMIN)):
            tokens = tokens.filter(user=self.request.user)
        return tokens

    @extend_schema(responses={201: NewApiTokenSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = services.issue_token(
            self.membership,
            serializer.validated_data["name"],
            serializer.validated_data.get("expires_in_days"),
            minted_by=request.auth if isinstance(request.auth, ApiToken) else None,  # no token outlives its minter
        )
        token.key = key
        return Response(NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        services.revoke_token(instance, by=self.request.user, via=Via.API)


class CloudAccountViewSet(TenantModelViewSet):
    """The org's AWS accounts. Secrets can be written, never read back."""

    serializer_class = CloudAccountSerializer
    queryset = CloudAccount.objects.all()
    write_role = Role.ADMIN

    def perform_create(self, serializer) -> None:
        account = CloudAccount(org=self.org, created_by=self.request.user, updated_at=timezone.now())
        serializer.instance = services.save_cloud_account(
            account, serializer.validated_data, by=self.request.user, via=Via.API
        )

    def perform_update(self, serializer) -> None:
        services.save_cloud_account(serializer.instance, serializer.validated_data, by=self.request.user, via=Via.API)

    def perform_destroy(self, instance: CloudAccount) -> None:
        services.delete_cloud_account(instance, by=self.request.user, via=Via.API)
