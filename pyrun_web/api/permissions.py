"""Role checks for tenant-scoped endpoints.

Reads need any role. Writes need ``view.write_role`` (default: member), or a per-action role from
``view.action_roles``. On detail routes the check waits until the object is found, so an object of
another org is a 404 for everybody and a 403 only ever concerns the caller's own objects.
"""

from __future__ import annotations

from rest_framework import permissions

from pyrun_web.api.context import resolve_membership
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import Role


def required_role(request, view) -> Role | None:
    action_roles = getattr(view, "action_roles", {})
    action = getattr(view, "action", None)
    if action in action_roles:
        return Role(action_roles[action])
    if request.method in permissions.SAFE_METHODS:
        return None
    return Role(getattr(view, "write_role", Role.MEMBER))


def check_role(request, view) -> None:
    membership = resolve_membership(request)
    role = required_role(request, view)
    if role is not None and not membership.can(role):
        raise PyrunError("auth:user:role-required", role=role.value, org=membership.org.slug)


class HasOrgRole(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        resolve_membership(request)
        if not getattr(view, "detail", False):
            check_role(request, view)
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        check_role(request, view)
        return True
