"""The contract between the job runner and an executor backend.

A backend turns one job's choices (workspace settings, runtime, interpreter) into a :class:`LaunchPlan`: the
environment the sandbox adds for the entrypoint, extra host paths it must bind read-only, and lines for the job
log. Planning is the only thing a backend does; starting, watching and stopping the process is the runner's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class LaunchPlan:
    # Goes only to the sandboxed process: may hold the org's cloud credentials, so never log it.
    env: dict[str, str]
    ro_binds: list[Path] = field(default_factory=list)
    # Shown in the job log: must never contain a secret.
    notes: list[str] = field(default_factory=list)
    # Things that keep the job's credentials valid while it runs: the runner calls start() when the job
    # starts and close() when it ends, whatever happened (close() also removes the files they wrote).
    renewals: list[Renewal] = field(default_factory=list)
    # Addresses the job's sandbox may reach although they are private (a remote Dask scheduler): CIDRs or
    # ``scheme://host:port``. The host itself, loopback, metadata and the platform stay out of reach anyway.
    network_allow: list[str] = field(default_factory=list)

    def close(self) -> None:
        for renewal in self.renewals:
            renewal.close()


class Renewal(Protocol):
    def start(self) -> None: ...

    def close(self) -> None: ...


class Backend(Protocol):
    name: str
    target: str  # the runtime target it needs: "local" | "lambda-layer" | "image" (Runtime.Target values)

    def plan(self, *, job: Any, runtime: Any, interpreter: str, settings: dict[str, Any]) -> LaunchPlan:
        """``job`` has ``.org`` and ``.id``; ``runtime`` is a ``Runtime``; ``interpreter`` is the absolute path of
        its python; ``settings`` the workspace's validated Lithops settings (``Workspace.lithops_settings``)."""
        ...
