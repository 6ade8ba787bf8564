"""Launch a pipeline: a new workspace holding the pipeline's folder, and a run of its entrypoint with the
parameters as command-line options. The runtime comes from the folder's ``.pyrun/environment.yml`` like any
run's, so a second launch in the same org reuses the runtime the first one built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from jobs import services as jobs
from jobs.models import Job
from pipelines.registry import Pipeline
from pyrun_web.tenancy.models import Organization
from workspaces.models import Workspace
from workspaces.services import create_workspace, remove_files


@dataclass(frozen=True)
class Launch:
    workspace: Workspace
    job: Job


def launch(
    pipeline: Pipeline,
    *,
    org: Organization,
    user: Any,
    name: str | None = None,
    parameters: dict[str, Any] | None = None,
    backend: str | None = None,
) -> Launch:
    """Create the workspace and queue its run; nothing is left behind when either step is refused."""
    # Everything the caller can get wrong is checked before the workspace exists.
    values = pipeline.clean_parameters(parameters)
    chosen = jobs.check_backend(pipeline.check_backend(backend))
    args = jobs.clean_args(pipeline.args(values))
    with transaction.atomic():
        # The Run button of the new workspace runs the pipeline as it was meant to (e.g. dask-local).
        workspace = create_workspace(
            org=org,
            user=user,
            name=name or pipeline.title,
            source=pipeline.source,
            default_backend=pipeline.default_backend,
        )
        try:
            job = jobs.create_run(workspace, user, pipeline.entrypoint, backend=chosen, args=args)
        except BaseException:
            # The row goes with the transaction; the folder is ours to remove.
            remove_files(workspace.path, workspace.lock_path)
            raise
    return Launch(workspace=workspace, job=job)
