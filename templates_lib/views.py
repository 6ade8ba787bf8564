"""The workspace templates (the same for every org) to choose from when creating a workspace."""

from __future__ import annotations

from pyrun_web.api.registry import RegistryViewSet
from templates_lib.registry import TEMPLATES
from templates_lib.serializers import TemplateSerializer


class TemplateViewSet(RegistryViewSet):
    """Templates for `POST /api/v1/workspaces/ {"name", "template"}`."""

    serializer_class = TemplateSerializer
    registry = TEMPLATES
