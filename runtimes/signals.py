"""A runtime's files (and a Dockerfile runtime's local images) follow its row: however it is deleted (API, admin,
GC, with its org), they go."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from runtimes.layout import remove_runtime_files
from runtimes.models import Runtime


@receiver(post_delete, sender=Runtime, dispatch_uid="runtimes.remove_files")
def _remove_files(sender, instance: Runtime, **kwargs) -> None:
    # After commit: a rolled-back delete must not have lost a working environment.
    runtime_id, org_id, digest = instance.pk, instance.org_id, instance.spec_hash
    transaction.on_commit(lambda: remove_runtime_files(runtime_id, org_id, digest))
    if instance.kind == Runtime.Kind.DOCKER and instance.extra.get("tagged"):
        # Imported here: the docker SDK is only needed once a Dockerfile runtime goes, not at every start-up.
        from runtimes.builders.docker import remove_local_images

        transaction.on_commit(lambda: remove_local_images(runtime_id, org_id))
