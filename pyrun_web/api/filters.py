"""Filters that cannot be used to probe another org: a foreign-key filter accepts only the org's own objects.

django-filter validates ``?workspace=<id>`` against *all* workspaces: another org's id used to answer an empty
list (200) while a missing id answered 400, which told a caller that the id exists. Here every model-choice
filter is limited to what the request's org may name, so another org's object and a missing one give the same,
byte-identical 400.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Model, Q, QuerySet
from django_filters import ModelChoiceFilter, ModelMultipleChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend

from pyrun_web.tenancy.models import Organization


def choices_for_org(model: type[Model], org: Organization, rows: QuerySet, field_name: str) -> QuerySet:
    """The objects of ``model`` that a caller acting in ``org`` may name in a filter on ``rows.<field_name>``."""
    manager = model._default_manager
    if hasattr(manager, "for_org"):  # org-owned models (TenantQuerySet)
        return manager.for_org(org)
    if model is get_user_model():  # the org's members, and former members who still own some of its rows
        return manager.filter(Q(memberships__org=org) | Q(pk__in=rows.values(field_name))).distinct()
    if model is Organization:
        return manager.filter(pk=org.pk)
    return manager.none()  # an unknown kind of object: fail closed rather than answer about other orgs


class TenantFilterBackend(DjangoFilterBackend):
    """django-filter for the tenant viewsets (pyrun_web.api.viewsets), which give the request's ``org``."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None or getattr(view, "swagger_fake_view", False):
            return filterset
        org = view.org
        for filter_ in filterset.filters.values():  # a per-request copy of the class's filters
            if isinstance(filter_, ModelChoiceFilter | ModelMultipleChoiceFilter):
                model = queryset.model._meta.get_field(filter_.field_name).related_model
                filter_.queryset = choices_for_org(model, org, queryset, filter_.field_name)
                filter_.__dict__.pop("_field", None)  # a form field built earlier would keep the old choices
        return filterset
