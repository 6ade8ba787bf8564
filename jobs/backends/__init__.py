"""Executor backends, registered by dotted path (the list is the core's: ``pyrun_web.backends``, built-in ones
and the operator's ``PYRUN_EXTRA_BACKENDS``).

``get_backend(name)`` imports the class on first use, so a backend's dependencies (boto3 for Lambda, distributed
for Dask) load only when a job asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.module_loading import import_string

from jobs.backends.base import Backend, LaunchPlan
from pyrun_web.backends import BACKENDS, backend_names
from pyrun_web.backends import registry as _registry
from pyrun_web.errors import PyrunError

__all__ = ["BACKENDS", "Backend", "BackendInfo", "LaunchPlan", "backend_names", "catalogue", "get_backend"]


def get_backend(name: str) -> Backend:
    """A new instance of backend ``name``; ``job:user:bad-backend`` when there is no such backend."""
    registry = _registry()
    path = registry.get(name)
    if path is None:
        raise PyrunError("job:user:bad-backend", backend=name, choices=", ".join(sorted(registry)))
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise PyrunError("job:platform:backend-unavailable", backend=name, detail=str(exc)) from exc
    return cls()


@dataclass(frozen=True)
class BackendInfo:
    name: str
    builtin: bool
    target: str | None  # the runtime target it needs; None when the class cannot be loaded here
    error: str = ""


def catalogue() -> dict[str, BackendInfo]:
    """Every backend a run may ask for, by name, with what the IDE shows of it (the API's list of backends)."""
    found: dict[str, BackendInfo] = {}
    for name in backend_names():
        try:
            target, error = get_backend(name).target, ""
        except PyrunError as exc:  # an operator's backend whose package is missing: listed, and why it fails
            target, error = None, exc.message
        found[name] = BackendInfo(name=name, builtin=name in BACKENDS, target=target, error=error)
    return found
