"""File routes of workspaces. Raw file paths may contain slashes and have no trailing slash, which a router
cannot express, so these are spelled out."""

from django.urls import re_path

from workspaces.file_views import WorkspaceFilesViewSet as Files

WORKSPACE = r"^workspaces/(?P<pk>[^/.]+)/"

urlpatterns = [
    re_path(
        WORKSPACE + r"files/$",
        Files.as_view({"get": "tree"}, basename="workspace-files", detail=True),
        name="workspace-files",
    ),
    re_path(
        WORKSPACE + r"files/(?P<path>.+)$",
        Files.as_view(
            {"get": "read", "put": "write", "post": "create_entry", "delete": "remove"},
            basename="workspace-file",
            detail=True,
        ),
        name="workspace-file",
    ),
    re_path(
        WORKSPACE + r"move/$",
        Files.as_view({"post": "move"}, basename="workspace-files", detail=True),
        name="workspace-move",
    ),
    re_path(
        WORKSPACE + r"upload/$",
        Files.as_view({"post": "upload"}, basename="workspace-files", detail=True),
        name="workspace-upload",
    ),
    re_path(
        WORKSPACE + r"archive/$",
        Files.as_view({"get": "archive"}, basename="workspace-files", detail=True),
        name="workspace-archive",
    ),
]
