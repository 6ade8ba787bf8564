"""Who is on the other end of a websocket, and what they may do with the object it is about.

Browsers authenticate with their session cookie (Channels' ``AuthMiddlewareStack``): the IDE
(``frontend/src/ws/``) never puts a key in a socket URL, so no short-lived ticket is needed for it. API clients
and the CLI use an API token, as ``Authorization: Token <key>`` or ``?token=<key>`` (for clients that cannot set
headers on a websocket); a key in a URL is redacted from every log (``pyrun_web.redaction``). A presented
token wins over a session; a bad one makes the caller anonymous, as in the REST API. The middleware sets
``scope["user"]`` and ``scope["api_token"]`` (None without a token).

Refusals accept the socket and close it at once with a code, because closing before accepting makes the
server answer a bare HTTP 403 and the client never sees why. The close reason is the error id.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet

from pyrun_web.tenancy.models import ApiToken, Membership, Role

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

_TOKEN_KEYWORDS = (b"token", b"bearer")


def token_key(scope: dict) -> str | None:
    """The API key the client presented, from the Authorization header or the ``token`` query parameter."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.split()
            if parts and parts[0].lower() in _TOKEN_KEYWORDS:
                # As in the REST API: a malformed token header is a bad credential, not the absence of one.
                return parts[1].decode("latin-1") if len(parts) == 2 else ""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[-1] if values else None


class ApiTokenMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        key = token_key(scope)
        token = None
        if key is not None:
            token = await database_sync_to_async(ApiToken.authenticate)(key) if key else None
            scope["user"] = token.user if token is not None else AnonymousUser()
        scope["api_token"] = token
        return await super().__call__(scope, receive, send)


def PyrunAuthMiddlewareStack(inner):  # named like Channels' AuthMiddlewareStack, which it extends
    """Session auth, then token auth on top (inside, so a token overrides the session user)."""
    return AuthMiddlewareStack(ApiTokenMiddleware(inner))


def membership_for(user, api_token: ApiToken | None, org_id: int) -> Membership | None:
    """The caller's membership in an org: a token acts only in its own org, a session in any of the user's."""
    if user is None or not user.is_authenticated:
        return None
    if api_token is not None and api_token.org_id != org_id:
        return None
    return Membership.objects.select_related("org").filter(user=user, org_id=org_id).first()


class TenantObjectConsumerMixin:
    """For consumers about one org-owned object named in the URL (mix into an async websocket consumer).

    Subclasses set ``required_role`` and implement :meth:`get_queryset`; ``connect()`` calls
    :meth:`authorize` and, if it returns an object, sets things up and accepts. Another org's object and
    a nonexistent one both close with 4404, so a caller cannot probe for ids.
    """

    required_role: Role = Role.VIEWER
    lookup_url_kwarg: str = "pk"

    def get_queryset(self, user) -> QuerySet:
        raise NotImplementedError

    def _find(self, user, api_token: ApiToken | None) -> tuple[Model | None, Membership | None]:
        lookup = self.scope["url_route"]["kwargs"][self.lookup_url_kwarg]
        try:
            obj = self.get_queryset(user).select_related("org").filter(pk=lookup).first()
        except (ValueError, ValidationError):
            return None, None
        if obj is None:
            return None, None
        return obj, membership_for(user, api_token, obj.org_id)

    async def authorize(self) -> tuple[Model, Membership] | None:
        """The object and the caller's membership, or None after closing the socket with the reason."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED, "auth:user:unauthenticated")
            return None
        obj, membership = await database_sync_to_async(self._find)(user, self.scope.get("api_token"))
        if obj is None or membership is None:
            await self.refuse(CLOSE_NOT_FOUND, "api:user:not-found")
            return None
        if not membership.can(self.required_role):
            await self.refuse(CLOSE_FORBIDDEN, "auth:user:role-required")
            return None
        return obj, membership

    async def refuse(self, code: int, error_id: str) -> None:
        await self.accept()
        await self.close(code=code, reason=error_id)
