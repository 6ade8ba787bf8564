"""Unpack a built image's filesystem into a directory that jobs run in as their root (``SandboxSpec.root``).

Jobs never run inside Docker: the sandbox is bubblewrap for every runtime. A container-image runtime is the
image's flattened filesystem (``docker export`` of a created, never started, container), so the job's client
has exactly the image's Python and packages, the ones its Lambda functions or Dask workers have too.

The image is the user's, so its archive is hostile input: members are extracted with the ``tar`` filter
(nothing outside the directory, through ``..``, absolute names or symlinks laid earlier in the archive; no
setuid bits), hard links must point inside the directory, and device nodes, fifos and the contents of
``/proc``, ``/sys`` and ``/dev`` are dropped (the sandbox mounts its own).
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors

from pyrun_web.errors import PyrunError

# Mounted by the sandbox itself; what an image has there is never used.
SKIPPED_TOP = ("proc", "sys", "dev")
CHUNK_BYTES = 1 << 20


def export_rootfs(client: docker.DockerClient, image: str, dest: Path, log: Callable[[str], None]) -> int:
    """Unpack ``image``'s filesystem into ``dest`` (created); returns the bytes written."""
    dest.mkdir(parents=True, exist_ok=True)
    log(f"unpacking the filesystem of {image} for jobs")
    try:
        container = client.containers.create(image, entrypoint=["/bin/true"], network_mode="none")
    except docker.errors.APIError as exc:
        detail = exc.explanation or str(exc)
        raise PyrunError("runtime:platform:image-export-failed", image=image, detail=detail) from exc
    try:
        written = extract_stream(_ChunkReader(container.export(chunk_size=CHUNK_BYTES)), dest)
    except (docker.errors.APIError, tarfile.TarError, OSError) as exc:
        raise PyrunError("runtime:platform:image-export-failed", image=image, detail=str(exc)) from exc
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
    log(f"filesystem unpacked: {written / 1e6:.0f} MB")
    return written


def extract_stream(stream: Any, dest: Path) -> int:
    """Extract the tar stream ``stream`` under ``dest``, member by member through :func:`keep_member`; returns
    the bytes of the regular files written."""
    written = 0
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            kept = keep_member(member, str(dest))
            if kept is None:
                continue
            # Already filtered; numeric owners: the image's names mean nothing in this host's passwd.
            archive.extract(kept, dest, numeric_owner=True, filter=lambda checked, _dest: checked)
            written += kept.size if kept.isfile() else 0
    return written


def keep_member(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """``member`` made safe to extract under ``dest`` (the stdlib ``tar`` filter), or None to leave it out."""
    top = member.name.lstrip("./").split("/", 1)
    if top[0] in SKIPPED_TOP and len(top) > 1:
        return None
    if member.ischr() or member.isblk() or member.isfifo():
        return None
    try:
        kept = tarfile.tar_filter(member, dest)
    except tarfile.FilterError:
        return None
    # The tar filter leaves hard links unchecked: one naming ../../etc/shadow would link a host file in.
    if kept.islnk():
        base = os.path.realpath(dest)
        target = os.path.realpath(os.path.join(base, kept.linkname))  # as tarfile joins it
        if os.path.commonpath([target, base]) != base:
            return None
    return kept


class _ChunkReader(io.RawIOBase):
    """A file object over the export's chunk iterator, for ``tarfile``'s stream mode."""

    def __init__(self, chunks: Iterator[bytes] | Any) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def resolve_in_root(root: Path, path: str, max_links: int = 40) -> Path | None:
    """Where ``path`` (absolute, as the sandbox sees it) is under ``root`` on this host, following symlinks the way
    they resolve inside the sandbox (an absolute target starts again at ``root``, never at the host's /); None
    when it does not exist or loops."""
    parts = [part for part in path.split("/") if part]
    current = root
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        if part == ".":
            continue
        candidate = current / part
        if candidate.is_symlink():
            links += 1
            if links > max_links:
                return None
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = root
            parts = [piece for piece in target.split("/") if piece] + parts
            continue
        if not os.path.lexists(candidate):
            return None
        current = candidate
    return current
