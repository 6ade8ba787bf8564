"""The files API of a workspace: tree, raw read/write with etags, folders, move, delete, upload, zip download.

Raw file bodies bypass DRF's parsers and renderers: reads stream the file, writes stream the request body to
the store. Errors are JSON whatever the Accept header says.
"""

from __future__ import annotations

import dataclasses
import mimetypes
from typing import BinaryIO

from django.http import FileResponse, HttpResponse, HttpResponseNotModified
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from pyrun_web.api.viewsets import TenantViewSetMixin
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import Organization
from workspaces import previews
from workspaces.models import Workspace
from workspaces.serializers import EntrySerializer, MoveSerializer, TreeSerializer, UploadSerializer
from workspaces.storage import Entry, etag_matches, read_chunks
from workspaces.uploads import LimitedUploadHandler, UploadLimits

OPS = ("mkdir",)
# User files are served from the platform's own origin: a sandboxed, script-free document cannot reach the
# session of whoever opens a shared .html or .svg.
_SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"

PATH = OpenApiParameter(
    "path", OpenApiTypes.STR, OpenApiParameter.PATH, description="Relative to the workspace root, e.g. `src/main.py`."
)
FOLDER = OpenApiParameter(
    "path",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description="A folder; empty: the whole workspace.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The etag you read; 412 if the file changed since (or was deleted).",
)
IF_NONE_MATCH_WRITE = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="`*`: create only; 412 if it exists.",
)
IF_NONE_MATCH_READ = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False, description="An etag; 304 if unchanged."
)
OP = OpenApiParameter(
    "op", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=list(OPS), description="`mkdir`: create a folder."
)

ROWS = OpenApiParameter(
    "rows",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    required=False,
    description=f"How many rows, 1 to {previews.MAX_ROWS} (default {previews.DEFAULT_ROWS}).",
)
TABLE_PREVIEW = inline_serializer(
    "TablePreview",
    {
        "format": serializers.ChoiceField(choices=["csv", "tsv", "parquet"]),
        "columns": inline_serializer(
            "PreviewColumn", {"name": serializers.CharField(), "type": serializers.CharField()}, many=True
        ),
        "rows": serializers.ListField(
            child=serializers.ListField(child=serializers.JSONField()), help_text="One list of cells a row."
        ),
        "total_rows": serializers.IntegerField(allow_null=True, help_text="null: too large to count."),
        "truncated": serializers.BooleanField(help_text="More rows or columns than shown."),
    },
)


class ErrorsAsJson(DefaultContentNegotiation):
    """Raw files are plain Django responses; everything DRF renders here (entries, errors) is JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _etag_list(header: str | None) -> list[str] | None:
    return [part for part in header.split(",") if part.strip()] if header else None


def _content_type(name: str, fileobj: BinaryIO) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed and not guessed.startswith("text/"):
        return guessed
    sample = fileobj.read(8192)
    fileobj.seek(0)
    if guessed or _looks_like_text(sample):
        return f"{guessed or 'text/plain'}; charset=utf-8"
    return "application/octet-stream"


def _looks_like_text(sample: bytes) -> bool:
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # a character cut by the end of the sample
    return True


def _with_etag(response: HttpResponse, entry: Entry) -> HttpResponse:
    response["ETag"] = f'"{entry.etag}"'
    response["Last-Modified"] = http_date(entry.mtime.timestamp())
    return response


class WorkspaceFilesViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    queryset = Workspace.objects.select_related("org")
    serializer_class = EntrySerializer
    content_negotiation_class = ErrorsAsJson

    def initial(self, request, *args, **kwargs) -> None:
        # Installed before authentication: a browser session's CSRF check reads the form, so parses the upload.
        if self.action == "upload":
            request._request.upload_handlers = [LimitedUploadHandler(request._request, self._upload_limits)]
        super().initial(request, *args, **kwargs)

    def _upload_limits(self) -> UploadLimits:
        """The limits of the org the upload acts in. While a session's CSRF check parses the form, DRF has no user
        yet: the session's user (whom the check is for) stands in, with the largest limits among its orgs; the
        store applies the org's own limits to what gets through."""
        if "_user" in vars(self.request):
            return UploadLimits.of(self.org.limits)
        return UploadLimits.widest(org.limits for org in Organization.objects.for_user(self.request._request.user))

    @extend_schema(operation_id="workspaces_files_tree", parameters=[FOLDER], responses=TreeSerializer)
    def tree(self, request, pk=None):
        """Every file and folder (recursively) with size, mtime and, for files, the etag."""
        tree = self.get_object().files.tree(request.query_params.get("path", ""))
        return Response(TreeSerializer(tree).data)

    @extend_schema(
        operation_id="workspaces_files_read",
        parameters=[PATH, IF_NONE_MATCH_READ],
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, "The raw file."), 304: None},
    )
    def read(self, request, pk=None, path=""):
        """The raw file, with its content type and `ETag`."""
        fileobj, entry = self.get_object().files.open(path)
        if etag_matches(entry.etag, _etag_list(request.headers.get("If-None-Match")) or []):
            fileobj.close()
            return _with_etag(HttpResponseNotModified(), entry)
        response = FileResponse(fileobj, content_type=_content_type(entry.name, fileobj), filename=entry.name)
        response["Content-Security-Policy"] = _SANDBOX
        return _with_etag(response, entry)

    @extend_schema(operation_id="workspaces_files_preview", parameters=[PATH, ROWS], responses={200: TABLE_PREVIEW})
    def preview(self, request, pk=None, path=""):
        """The first rows of a CSV, TSV or Parquet file as a table: its columns with their types, the rows, and
        how many there are in all (null when the file is too large to count). A file that does not parse is 400
        `workspaces:user:bad-preview`; symlinks are never followed."""
        workspace = self.get_object()
        raw_rows = request.query_params.get("rows", str(previews.DEFAULT_ROWS))
        if not raw_rows.isdigit() or not 1 <= int(raw_rows) <= previews.MAX_ROWS:
            raise PyrunError("workspaces:user:bad-preview-rows", rows=raw_rows[:20], limit=previews.MAX_ROWS)
        table = previews.preview_table(workspace.path, path, int(raw_rows))
        return Response(dataclasses.asdict(table))

    @extend_schema(
        operation_id="workspaces_files_write",
        parameters=[PATH, IF_MATCH, IF_NONE_MATCH_WRITE],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: EntrySerializer, 201: EntrySerializer},
    )
    def write(self, request, pk=None, path=""):
        """Save the raw request body as the file (created with its folders if missing; 201 then). Send the etag
        you read as `If-Match` so that someone else's newer save is not overwritten (412 instead)."""
        workspace = self.get_object()
        limit = workspace.org.limits.max_file_bytes
        length = request.META.get("CONTENT_LENGTH")
        if length and length.isdigit() and int(length) > limit:  # refuse before receiving the body
            raise PyrunError("workspaces:user:file-too-large", path=path, limit=limit)
        entry, created = workspace.files.write(
            path,
            read_chunks(request._request),  # the raw stream: DRF's parsers would buffer and decode it
            if_match=_etag_list(request.headers.get("If-Match")),
            if_none_match=request.headers.get("If-None-Match", "").strip() == "*",
        )
        response = Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED if created else 200)
        return _with_etag(response, entry)

    @extend_schema(
        operation_id="workspaces_files_create", parameters=[PATH, OP], request=None, responses={201: EntrySerializer}
    )
    def create_entry(self, request, pk=None, path=""):
        """`?op=mkdir` creates the folder (and missing parents); 409 if something is there already."""
        workspace = self.get_object()
        op = request.query_params.get("op", "")
        if op not in OPS:
            raise PyrunError("workspaces:user:bad-op", op=op, choices=", ".join(OPS))
        entry = workspace.files.mkdir(path)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="workspaces_files_delete", parameters=[PATH], responses={204: None})
    def remove(self, request, pk=None, path=""):
        """Delete a file, or a folder with everything in it."""
        self.get_object().files.delete(path)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="workspaces_move", request=MoveSerializer, responses=EntrySerializer)
    def move(self, request, pk=None):
        """Rename or move a file or folder: `{"from": "a.py", "to": "src/b.py"}`. 409 if `to` exists."""
        workspace = self.get_object()
        serializer = MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = workspace.files.move(serializer.validated_data["from"], serializer.validated_data["to"])
        return Response(EntrySerializer(entry).data)

    @extend_schema(
        operation_id="workspaces_upload",
        request={"multipart/form-data": UploadSerializer},
        responses={201: EntrySerializer(many=True)},
    )
    def upload(self, request, pk=None):
        """Upload files (`files`, repeated) into the folder `path`, and unpack zips (`archives`) there.
        Existing files are replaced; nothing is written unless everything fits."""
        workspace = self.get_object()
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entries = workspace.files.upload(
            data["path"],
            files=[(f.name, f) for f in data["files"]],
            archives_=[(f.name, f) for f in data["archives"]],
        )
        return Response(EntrySerializer(entries, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="workspaces_archive",
        parameters=[FOLDER],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def archive(self, request, pk=None):
        """Download the workspace, or the folder `path`, as a zip."""
        workspace = self.get_object()
        archive, rel = workspace.files.archive(request.query_params.get("path", ""))
        name = workspace.slug + (f"-{rel.replace('/', '-')}" if rel else "")
        return FileResponse(archive, as_attachment=True, filename=f"{name}.zip", content_type="application/zip")
