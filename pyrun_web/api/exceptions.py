"""Every API error leaves as ``{"error": {"id", "message", ...}}`` with a stable id."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from pyrun_web.errors import ERRORS, PyrunError, error_body

logger = logging.getLogger(__name__)

_DRF_IDS: list[tuple[type[Exception], str]] = [
    (exceptions.ParseError, "api:user:malformed-request"),
    (exceptions.ValidationError, "api:user:invalid"),
    (exceptions.NotAuthenticated, "auth:user:unauthenticated"),
    (exceptions.AuthenticationFailed, "auth:user:bad-token"),
    (exceptions.PermissionDenied, "auth:user:forbidden"),
    (exceptions.NotFound, "api:user:not-found"),
    (exceptions.MethodNotAllowed, "api:user:method-not-allowed"),
    (exceptions.NotAcceptable, "api:user:not-acceptable"),
    (exceptions.UnsupportedMediaType, "api:user:unsupported-media-type"),
    (exceptions.Throttled, "api:user:throttled"),
]


def _drf_error(exc: exceptions.APIException) -> tuple[str, dict]:
    error_id = next((eid for cls, eid in _DRF_IDS if isinstance(exc, cls)), "api:user:invalid")
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            non_field = detail.get("non_field_errors")
            message = str(non_field[0]) if non_field else ERRORS[error_id].message
            return error_id, error_body(error_id, message, fields=detail)
        return error_id, error_body(error_id, " ".join(str(d) for d in detail))
    if isinstance(exc, exceptions.Throttled):
        return error_id, error_body(error_id, ERRORS[error_id].message.format(wait=int(exc.wait or 1)))
    if isinstance(exc, exceptions.ParseError):
        return error_id, error_body(error_id, ERRORS[error_id].message.format(detail=exc.detail))
    return error_id, error_body(error_id, str(exc.detail))


def exception_handler(exc: Exception, context: dict) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, PyrunError):
        status, body = exc.status, error_body(exc.id, exc.message)
    elif isinstance(exc, RequestDataTooBig):
        from django.conf import settings

        error = PyrunError("api:user:too-large", limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        status, body = error.status, error_body(error.id, error.message)
    elif isinstance(exc, exceptions.APIException):
        status = exc.status_code
        _, body = _drf_error(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    else:
        logger.exception("unhandled API error", exc_info=exc)
        status, body = 500, error_body("api:platform:internal")
    set_rollback()
    return Response(body, status=status, headers=headers)


def json_not_found(request, exception=None, **kwargs) -> JsonResponse:
    return JsonResponse(error_body("api:user:not-found"), status=404)


def json_server_error(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse(error_body("api:platform:internal"), status=500)
