"""The runs route of workspaces lives here, with the jobs it creates (workspaces do not import jobs)."""

from django.urls import re_path

from jobs.views import WorkspaceRunViewSet

urlpatterns = [
    re_path(
        r"^workspaces/(?P<pk>[^/.]+)/runs/$",
        WorkspaceRunViewSet.as_view({"post": "create"}, basename="workspace-runs", detail=True),
        name="workspace-runs",
    ),
]
