"""Where runtimes live on disk, and the one atomic step that makes a build visible.

- ``builds/<runtime id>-<token>/``: a build's real directory. Builders create it and it never moves: venvs
  and conda prefixes bake their own path into scripts and files, so renaming a finished one would break it.
- ``envs/<org id>/<spec hash>``: the final prefix, a symlink to the build directory of the last successful
  build. It is created (or swapped) with one ``rename``, and only after the build succeeded: a half-built or
  failed build never has a final prefix.
- ``contexts/<runtime id>/``: the copy of the workspace's ``.pyrun/`` a Docker build uses, taken when the
  build is requested, so a file saved meanwhile cannot change what a spec hash stands for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from pathlib import Path

from django.conf import settings

from pyrun_web import safe_walk

logger = logging.getLogger(__name__)


def root() -> Path:
    return Path(settings.RUNTIMES_ROOT)


def builds_root() -> Path:
    return root() / "builds"


def final_prefix(org_id: int, spec_hash: str) -> Path:
    return root() / "envs" / str(org_id) / spec_hash


def context_dir(runtime_id: int) -> Path:
    return root() / "contexts" / str(runtime_id)


def new_build_dir(runtime_id: int) -> Path:
    builds_root().mkdir(parents=True, exist_ok=True)
    return builds_root() / f"{runtime_id}-{secrets.token_hex(4)}"


def publish(build_dir: Path, final: Path) -> Path | None:
    """Point ``final`` at ``build_dir`` atomically; returns the build directory it pointed at before."""
    final.parent.mkdir(parents=True, exist_ok=True)
    previous = Path(os.readlink(final)) if final.is_symlink() else None
    if final.exists() and not final.is_symlink():  # not ours (a leftover of another layout): replace it
        shutil.rmtree(final)
    link = final.with_name(f".{final.name}.{secrets.token_hex(4)}")
    os.symlink(build_dir, link)
    try:
        os.replace(link, final)
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    return previous if previous != build_dir else None


def unpublish(final: Path, build_dir: Path) -> None:
    """Remove ``final`` if it still points at ``build_dir`` (a build that was published but not recorded)."""
    with contextlib.suppress(OSError):
        if final.is_symlink() and Path(os.readlink(final)) == build_dir:
            final.unlink()


def remove_tree(path: Path | None) -> None:
    if path is None:
        return
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError:
        logger.exception("could not remove %s", path)


def remove_runtime_files(runtime_id: int, org_id: int, spec_hash: str) -> None:
    """Everything of one runtime on disk: its final prefix, every build directory, its build context."""
    remove_tree(final_prefix(org_id, spec_hash))
    for build_dir in stray_build_dirs(runtime_id):
        remove_tree(build_dir)
    remove_tree(context_dir(runtime_id))


def stray_build_dirs(runtime_id: int, keep: Path | None = None) -> list[Path]:
    """Build directories of a runtime other than ``keep`` (left by failed, crashed or superseded builds)."""
    with contextlib.suppress(FileNotFoundError):
        return [p for p in builds_root().glob(f"{runtime_id}-*") if p != keep]
    return []


def write_context(runtime_id: int, files: list[tuple[str, bytes]]) -> Path:
    """Store the build-context files a spec hash was computed over, for the build to use."""
    target = context_dir(runtime_id)
    remove_tree(target)
    target.mkdir(parents=True)
    for rel, data in files:
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


def read_tree(source: Path, max_bytes: int = 200 * 1024 * 1024) -> list[tuple[str, bytes]]:
    """(relative path, contents) of the regular files under ``source``; symlinks are skipped and never followed,
    even one swapped in meanwhile (:mod:`pyrun_web.safe_walk`)."""
    found: list[tuple[str, bytes]] = []
    total = 0
    try:
        top = safe_walk.open_dir(source)
    except OSError:
        return []
    try:
        for entry in safe_walk.walk(top, ignore_errors=True):
            if entry.kind is not safe_walk.Kind.FILE:
                continue
            try:
                handle, _ = entry.open()
            except OSError:
                continue  # removed, or swapped for a symlink or a special file, meanwhile
            with handle:
                data = handle.read(max_bytes - total + 1)
            total += len(data)
            if total > max_bytes:
                raise ValueError(f"the build context is larger than {max_bytes} bytes")
            found.append((entry.path, data))
    finally:
        os.close(top)
    return found
