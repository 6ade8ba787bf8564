"""The runs route of workspaces lives here, with the jobs it creates (workspaces do not import jobs)."""

from django.urls import path, re_path

from jobs.views import BackendViewSet, WorkspaceRunViewSet

urlpatterns = [
    re_path(
        r"^workspaces/(?P<pk>[^/.]+)/runs/$",
        WorkspaceRunViewSet.as_view({"post": "create"}, basename="workspace-runs", detail=True),
        name="workspace-runs",
    ),
    path("backends/", BackendViewSet.as_view({"get": "list"}), name="backend-list"),
    path("backends/<slug:name>/", BackendViewSet.as_view({"get": "retrieve"}), name="backend-detail"),
]
