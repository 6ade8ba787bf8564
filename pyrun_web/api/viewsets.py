"""Base viewsets: anything built on these is scoped to the caller's org and role-checked by default."""

from __future__ import annotations

from rest_framework import filters, mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from pyrun_web.api.context import resolve_membership
from pyrun_web.api.filters import TenantFilterBackend
from pyrun_web.api.permissions import HasOrgRole
from pyrun_web.tenancy.models import Membership, Organization, Role


class TenantViewSetMixin:
    """Queryset limited to the request's org; created objects belong to it."""

    permission_classes = [IsAuthenticated, HasOrgRole]
    # Foreign-key filters (?workspace=, ?created_by=) accept only the org's objects: no existence oracle.
    filter_backends = [TenantFilterBackend, filters.OrderingFilter]
    write_role: Role = Role.MEMBER
    action_roles: dict[str, Role] = {}

    @property
    def membership(self) -> Membership:
        return resolve_membership(self.request)

    @property
    def org(self) -> Organization:
        return self.membership.org

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.for_org(self.org)

    def perform_create(self, serializer) -> None:
        serializer.save(org=self.org)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and self.request.user.is_authenticated:
            context["org"] = self.org
        return context


class TenantModelViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    pass


class TenantReadOnlyViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class TenantCreateListRetrieveDestroyViewSet(
    TenantViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    pass
