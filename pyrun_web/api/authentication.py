"""``Authorization: Token <key>`` (or ``Bearer <key>``) authentication against hashed ApiTokens."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from pyrun_web.errors import ERRORS
from pyrun_web.tenancy.models import ApiToken


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(ERRORS["auth:user:bad-token"].message, "bad-token")
        token = ApiToken.authenticate(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed(ERRORS["auth:user:bad-token"].message, "bad-token")
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated API calls.
        return "Token"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; create keys at /api/v1/tokens/ or with `manage.py createtenant`.",
        }
