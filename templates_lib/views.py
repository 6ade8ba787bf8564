"""The workspace templates (the same for every org) to choose from when creating a workspace."""

from __future__ import annotations

from django.http import Http404
from rest_framework import generics

from templates_lib.registry import TEMPLATES, all_templates
from templates_lib.serializers import TemplateSerializer


class TemplateList(generics.ListAPIView):
    """Templates for `POST /api/v1/workspaces/ {"name", "template"}`."""

    serializer_class = TemplateSerializer
    filter_backends: list = []  # a plain list, not a queryset: nothing to filter

    def get_queryset(self):
        return all_templates()


class TemplateDetail(generics.RetrieveAPIView):
    serializer_class = TemplateSerializer

    def get_object(self):
        try:
            return TEMPLATES[self.kwargs["slug"]]
        except KeyError:
            raise Http404 from None
