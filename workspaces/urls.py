"""File routes of workspaces. Raw file paths may contain slashes and have no trailing slash, which a router
cannot express, so these are spelled out."""

from django.urls import URLPattern, re_path

from workspaces.file_views import WorkspaceFilesViewSet as Files

WORKSPACE = r"^workspaces/(?P<pk>[^/.]+)/"


def _route(suffix: str, actions: dict[str, str], name: str, basename: str = "workspace-files") -> URLPattern:
    """``workspaces/<pk>/<suffix>``, served by the ``actions`` (method: action) of the files viewset."""
    return re_path(WORKSPACE + suffix, Files.as_view(actions, basename=basename, detail=True), name=name)


urlpatterns = [
    _route(r"files/$", {"get": "tree"}, "workspace-files"),
    _route(
        r"files/(?P<path>.+)$",
        {"get": "read", "put": "write", "post": "create_entry", "delete": "remove"},
        "workspace-file",
        basename="workspace-file",
    ),
    _route(r"preview/(?P<path>.+)$", {"get": "preview"}, "workspace-preview", basename="workspace-preview"),
    _route(r"move/$", {"post": "move"}, "workspace-move"),
    _route(r"upload/$", {"post": "upload"}, "workspace-upload"),
    _route(r"archive/$", {"get": "archive"}, "workspace-archive"),
]
