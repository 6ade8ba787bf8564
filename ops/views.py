"""The operator dashboard (staff only): a page that renders the status snapshot and refreshes it from
``status.json`` every few seconds, without reloading."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from ops.services import platform_status
from pyrun_web.errors import error_body

REFRESH_SECONDS = 5


@never_cache
@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Platform dashboard",
        "status": platform_status(),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return render(request, "ops/dashboard.html", context)


@never_cache
def status_json(request: HttpRequest) -> JsonResponse:
    # A script polling this gets a JSON 403, not the admin's login page (which staff_member_required redirects to).
    if not (request.user.is_active and request.user.is_staff):
        return JsonResponse(error_body("auth:user:forbidden"), status=403)
    return JsonResponse(platform_status())
