"""Where a build's tenant-controlled steps run: the job sandbox, with only the build's own folders writable.

Installing an sdist runs its ``setup.py`` (or any build backend), and every later start of the built
interpreter runs the installed packages' ``.pth`` files: all of it is the tenant's code. So uv (venv,
install) and the bytecode compilation run inside :mod:`pyrun_web.sandbox` with:

- read-write: the runtime's prefix, the org's own uv cache, a scratch folder (its ``/workspace``, also
  ``TMPDIR``, so a large sdist build is not squeezed into the 1 GiB ``/tmp``);
- read-only: the base interpreter and the uv binary; nothing else of the data dir;
- the sandbox's filtered network (PyPI and the internet, never the platform) and its limits.

Caches are per org: a build can only poison what its own org installs later.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from pyrun_web.sandbox import WORKDIR, ResourceLimits, SandboxSpec
from runtimes.interpreters import uv_binary

SCRATCH_TMP = f"{WORKDIR}/.tmp"


def org_cache_dir(kind: str, org_id: int) -> Path:
    """The org's own cache of ``kind`` (``uv``, ``rattler``) in the data dir."""
    path = Path(settings.DATA_DIR) / "cache" / kind / f"org-{int(org_id)}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_find_links(env: dict[str, str]) -> list[Path]:
    """The operator's local wheel folders (``UV_FIND_LINKS``), bound read-only so uv sees them inside."""
    found = []
    for item in re.split(r"[\s,]+", env.get("UV_FIND_LINKS", "")):
        path = Path(item.removeprefix("file://"))
        if path.is_absolute() and path.is_dir():
            found.append(path)
    return found


def build_limits() -> ResourceLimits:
    """A build gets the default job limits (a compiler needs processes and memory as a job does)."""
    defaults = settings.PYRUN_LIMITS
    return ResourceLimits(memory_bytes=defaults["job_memory_bytes"], max_processes=defaults["job_max_processes"])


def build_sandbox(
    scratch: Path, *, interpreter_prefixes: Sequence[Path], writable: Sequence[Path], env: dict[str, str]
) -> SandboxSpec:
    """The sandbox template for a build's commands (``run_command`` fills in argv)."""
    (scratch / ".tmp").mkdir(parents=True, exist_ok=True)
    for path in writable:
        Path(path).mkdir(parents=True, exist_ok=True)
    return SandboxSpec(
        argv=(),
        workdir=scratch,
        runtime_prefixes=tuple(Path(p) for p in interpreter_prefixes),
        ro_binds=(Path(uv_binary()), *local_find_links(env)),
        rw_binds=tuple(Path(p) for p in writable),
        env={**env, "TMPDIR": SCRATCH_TMP, "UV_CACHE_DIR": str(env["UV_CACHE_DIR"])},
        limits=build_limits(),
    )
