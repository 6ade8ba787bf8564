from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from pyrun_web import login_throttle
from pyrun_web.api.exceptions import json_not_found, json_server_error
from pyrun_web.errors import ERRORS


class ThrottledLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def _who(self) -> tuple[str, str]:
        return self.request.POST.get("username", ""), self.request.META.get("REMOTE_ADDR", "")

    def post(self, request, *args, **kwargs):
        username, address = self._who()
        if login_throttle.is_locked(username, address):
            minutes = max(1, settings.LOGIN_THROTTLE["window_seconds"] // 60)
            form = self.get_form()
            form.add_error(None, ERRORS["auth:user:login-locked"].message.format(minutes=minutes))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_throttle.record_failure(*self._who())
        return super().form_invalid(form)

    def form_valid(self, form):
        login_throttle.clear(*self._who())
        return super().form_valid(form)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request)
    return page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return html_server_error(request)
