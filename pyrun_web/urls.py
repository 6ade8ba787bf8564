from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from pyrun_web import spa, views
from pyrun_web.api.exceptions import json_not_found
from pyrun_web.tenancy.pages import AcceptInvitationView, PasswordResetView

urlpatterns = [
    path("", spa.index, name="home"),  # the browser IDE (frontend/), see pyrun_web/spa.py
    path("login/", views.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("invitations/accept/<str:token>/", AcceptInvitationView.as_view(), name="invitation-accept"),
    path("accounts/password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("ops/", include("ops.urls")),  # the operator dashboard (staff only)
    path("admin/login/", views.admin_login, name="admin-login"),  # the admin's own login, behind the login throttle
    path("admin/", admin.site.urls),
    path("api/v1/", include("pyrun_web.api_urls")),
    re_path(r"^api/", json_not_found),
    re_path(spa.SPA_PATTERN, spa.index, name="spa"),
]

handler404 = "pyrun_web.views.not_found"
handler500 = "pyrun_web.views.server_error"
