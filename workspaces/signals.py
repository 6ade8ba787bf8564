"""Folders follow their rows: deleting a workspace (directly, from the admin, or with its org) removes its files."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from workspaces.models import Workspace
from workspaces.services import remove_files


@receiver(post_delete, sender=Workspace, dispatch_uid="workspaces.remove_files")
def _remove_files(sender, instance: Workspace, **kwargs) -> None:
    # After commit: a rolled-back delete must not have lost the files.
    path, lock_path = instance.path, instance.lock_path
    transaction.on_commit(lambda: remove_files(path, lock_path))
