"""Read-only API over a registry that is the same for every org and lives in code, not in the database (the
workspace templates, the pipelines): listed in its order, read by slug."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404
from rest_framework import viewsets


class RegistryViewSet(viewsets.ReadOnlyModelViewSet):
    """``list`` and ``retrieve`` over ``registry`` (slug → item); an unknown slug is a 404. Route it as
    ``as_view({"get": "list"})`` and, with a ``<slug:slug>`` in the URL, ``as_view({"get": "retrieve"})``."""

    registry: Mapping[str, Any] = {}
    lookup_field = "slug"
    filter_backends: list = []  # a plain list, not a queryset: nothing to filter

    def get_registry(self) -> Mapping[str, Any]:
        """The registry to serve; override it for one that settings can change."""
        return self.registry

    def get_queryset(self) -> list[Any]:
        return list(self.get_registry().values())

    def get_object(self) -> Any:
        try:
            return self.get_registry()[self.kwargs[self.lookup_field]]
        except KeyError:
            raise Http404 from None
