"""Dask on an existing scheduler: the job is a client of the address in the workspace settings.

``distributed.Client()`` without arguments connects to ``DASK_SCHEDULER_ADDRESS``, so scripts need no address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from jobs.backends.base import LaunchPlan
from jobs.backends.dask_local import SANDBOX_TMP
from pyrun_web.errors import PyrunError
from runtimes.models import Runtime

SCHEMES = ("tcp", "tls")


def validate_address(address: str) -> str:
    """``address`` when it is ``tcp://host:port`` or ``tls://host:port``; ``job:user:bad-scheduler-address``
    otherwise (``workspaces:user:scheduler-address-required`` when empty)."""
    if not address:
        raise PyrunError("workspaces:user:scheduler-address-required")

    def bad(reason: str) -> PyrunError:
        return PyrunError("job:user:bad-scheduler-address", address=address, reason=reason)

    if any(char.isspace() for char in address):
        raise bad("it contains whitespace")
    parts = urlsplit(address)
    if parts.scheme not in SCHEMES:
        raise bad(f"the scheme must be {' or '.join(SCHEMES)}")
    if parts.username is not None or parts.password is not None:
        raise bad("it must not contain credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise bad("it must be only a host and a port")
    if not parts.hostname:
        raise bad("the host is missing")
    try:
        port = parts.port
    except ValueError:
        raise bad("the port is not a number between 1 and 65535") from None
    if not port:
        raise bad("the port is missing")
    return f"{parts.scheme}://{parts.netloc}"


class DaskScheduler:
    name = "dask-scheduler"
    target = Runtime.Target.LOCAL.value

    def plan(self, *, job: Any, runtime: Any, interpreter: str, settings: dict[str, Any]) -> LaunchPlan:
        address = validate_address(settings.get("dask_scheduler_address") or "")
        env = {"DASK_SCHEDULER_ADDRESS": address, "DASK_TEMPORARY_DIRECTORY": SANDBOX_TMP}
        notes = [
            f"Dask scheduler at {address}: Client() connects to it (DASK_SCHEDULER_ADDRESS)",
            "Its workers need the packages this job's runtime has",
        ]
        if address.startswith("tls://"):
            notes.append("tls:// needs the script to pass Client(security=...) with its certificates")
        return LaunchPlan(env=env, notes=notes, network_allow=[address])
