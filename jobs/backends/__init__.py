"""Executor backends, registered by dotted path (the list is the core's: ``pyrun_web.backends``, built-in ones
and the operator's ``PYRUN_EXTRA_BACKENDS``).

``get_backend(name)`` imports the class on first use, so a backend's dependencies (boto3 for Lambda, distributed
for Dask) load only when a job asks for it.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from jobs.backends.base import Backend, LaunchPlan
from pyrun_web.backends import BACKENDS, backend_names
from pyrun_web.backends import registry as _registry
from pyrun_web.errors import PyrunError

__all__ = ["BACKENDS", "Backend", "LaunchPlan", "backend_names", "get_backend"]


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
