"""Workspace lifecycle: create from a template, remove the folder when the row goes."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Protocol

from django.db import transaction

from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import Organization
from templates_lib.registry import get_template
from workspaces.models import Workspace

logger = logging.getLogger(__name__)


class WorkspaceSource(Protocol):
    """What can seed a new workspace: a template, or a pipeline's folder (``pipelines.registry``). Its ``slug`` is
    recorded as the workspace's ``template``."""

    slug: str

    def size(self) -> int: ...

    def copy_into(self, target: Path) -> None: ...


def create_workspace(
    *,
    org: Organization,
    user,
    name: str,
    template: str | None = None,
    source: WorkspaceSource | None = None,
    default_backend: str | None = None,
) -> Workspace:
    """A new workspace holding a copy of ``template``'s files (or of ``source``'s), whose Run button uses
    ``default_backend`` (else the template's, else the platform's); no row survives a failed copy, nor a
    folder."""
    if source is None:
        source = get_template(template)
        default_backend = default_backend or source.default_backend
    chosen = source
    limit = org.limits.max_workspace_bytes
    if chosen.size() > limit:
        raise PyrunError("workspaces:user:quota-exceeded", size=chosen.size(), limit=limit)
    with transaction.atomic():
        workspace = Workspace.objects.create(
            org=org, name=name, slug=Workspace.unique_slug(org, name), template=chosen.slug, created_by=user
        )
        workspace.path.mkdir(parents=True)
        try:
            chosen.copy_into(workspace.path)
        except BaseException:
            shutil.rmtree(workspace.path, ignore_errors=True)
            raise
        workspace.record_size(chosen.size())
        if default_backend and workspace.lithops_settings["default_executor"] != default_backend:
            workspace.set_lithops_settings({**workspace.lithops_settings, "default_executor": default_backend})
    return workspace


def remove_files(path: Path, lock_path: Path) -> None:
    """Delete a deleted workspace's folder; a failure leaves an orphan folder for operators, never an error."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError:
        logger.exception("could not remove workspace folder %s", path)
    lock_path.unlink(missing_ok=True)
