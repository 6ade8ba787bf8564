"""Everything under /api/v1/. Apps add their viewsets to ``router`` from their own ``api_urls``."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from jobs.views import JobViewSet
from pyrun_web.api.exceptions import json_not_found
from pyrun_web.api.views import HealthView
from pyrun_web.tenancy import views as tenancy
from runtimes.views import RuntimeViewSet
from workspaces.views import WorkspaceViewSet

router = DefaultRouter()
router.register("orgs", tenancy.OrganizationViewSet, basename="org")
router.register("members", tenancy.MembershipViewSet, basename="member")
router.register("invitations", tenancy.InvitationViewSet, basename="invitation")
router.register("tokens", tenancy.ApiTokenViewSet, basename="token")
router.register("cloud-accounts", tenancy.CloudAccountViewSet, basename="cloud-account")
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register("runtimes", RuntimeViewSet, basename="runtime")
router.register("jobs", JobViewSet, basename="job")

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("me/", tenancy.MeView.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
    path("", include("workspaces.urls")),
    path("", include("jobs.urls")),
    path("", include("templates_lib.urls")),
    path("", include("pipelines.urls")),
    re_path(r"^.*$", json_not_found),
]
