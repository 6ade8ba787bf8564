"""Which organisation a request acts in, and with which role.

A token acts in its own org. A browser session picks one with the ``X-PyRun-Org`` header or ``?org=``
(an org slug), else the org chosen in the session, else the user's first membership.
"""

from __future__ import annotations

from rest_framework import exceptions

from pyrun_web.errors import ERRORS, PyrunError
from pyrun_web.tenancy.models import ApiToken, Membership

ORG_HEADER = "X-PyRun-Org"
SESSION_ORG_KEY = "pyrun_org"


def resolve_membership(request) -> Membership:
    cached = getattr(request, "_pyrun_membership", None)
    if cached is not None:
        return cached
    memberships = Membership.objects.select_related("org", "user").filter(user=request.user)
    if isinstance(request.auth, ApiToken):
        membership = memberships.filter(org_id=request.auth.org_id).first()
        if membership is None:  # the user left the org: the token dies with the membership
            raise exceptions.AuthenticationFailed(ERRORS["auth:user:bad-token"].message, "bad-token")
    else:
        slug = request.headers.get(ORG_HEADER) or request.query_params.get("org")
        if slug:
            membership = memberships.filter(org__slug=slug).first()
            if membership is None:
                raise exceptions.NotFound()
        else:
            chosen = request.session.get(SESSION_ORG_KEY) if hasattr(request, "session") else None
            membership = (chosen and memberships.filter(org__slug=chosen).first()) or memberships.first()
        if membership is None:
            raise PyrunError("auth:user:no-membership")
    request._pyrun_membership = membership
    return membership
