from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from pyrun_web import login_throttle
from pyrun_web.api.exceptions import json_not_found, json_server_error


class LoginThrottleMixin:
    """For a LoginView: refuse (429) before any password check when pyrun_web.login_throttle says so, and count
    failures and successes. The refusal renders the page with an unbound form, so it tells nothing about the
    password that came with the refused attempt."""

    def _who(self) -> tuple[str, str]:
        return self.request.POST.get("username", ""), login_throttle.client_address(self.request)

    def post(self, request, *args, **kwargs):
        username, address = self._who()
        refusal = login_throttle.check(username, address)
        if refusal is not None:
            form = self.get_form_class()(request, initial={"username": username})
            form.cleaned_data = {}  # unbound: never validated, so never authenticated
            form.add_error(None, refusal.message)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(refusal.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_throttle.record_failure(*self._who())
        return super().form_invalid(form)

    def form_valid(self, form):
        login_throttle.record_success(*self._who())
        return super().form_valid(form)


class ThrottledLoginView(LoginThrottleMixin, auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class ThrottledAdminLoginView(LoginThrottleMixin, auth_views.LoginView):
    authentication_form = AdminAuthenticationForm
    template_name = "admin/login.html"


def admin_login(request):
    """``AdminSite.login`` (Django 5) with the throttle of ``/login/``: served at ``/admin/login/``."""
    if request.method == "GET" and admin.site.has_permission(request):
        return HttpResponseRedirect(reverse("admin:index", current_app=admin.site.name))
    context = {
        **admin.site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=admin.site.name)
    request.current_app = admin.site.name
    return ThrottledAdminLoginView.as_view(extra_context=context)(request)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request)
    return page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return html_server_error(request)
