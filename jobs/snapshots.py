"""Code snapshots: a job runs a frozen, content-addressed copy of its workspace, never the live folder.

The archive is deterministic (entries in a fixed order, fixed mtimes and owners, gzip without a timestamp), so
the same files always give the same sha256: that digest is the object's key, and a workspace that did not change
since the last run is stored only once.

The workspace is user-controlled and changes under us (the terminal), so reading it never follows a symlink
(:mod:`pyrun_web.safe_walk`: folders are opened relative to their parent's descriptor with ``O_NOFOLLOW``,
files likewise, and their type is checked on the open descriptor). Symlinks are stored as links (never
followed) when they resolve inside the workspace, counting links through links; others, special files (FIFOs,
sockets, devices), names that are not UTF-8 and ``__pycache__`` folders are left out. Restoring checks every
member of the archive before writing anything, so even a hostile archive cannot write or point outside the
destination.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pyrun_web import safe_walk
from pyrun_web.errors import PyrunError
from pyrun_web.infra.object_store import ObjectNotFound, ObjectStore, get_object_store

ARCHIVE_MTIME = 0
# Level 1 is ~3x faster than the default and code compresses well anyway; snapshots are on the Run path.
COMPRESS_LEVEL = 1
SKIPPED_DIRS = frozenset({"__pycache__"})
# Each level holds a descriptor and a stack frame: deeper folders are left out rather than exhaust either.
MAX_DEPTH = 256
MAX_LINK_HOPS = 40  # as the kernel's own limit: a longer chain (or a loop) is refused
RETRIES = 3  # a file shrinking under us (the terminal writes it) restarts the snapshot
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Snapshot:
    digest: str  # sha256 of the archive: its object key
    size: int  # archive bytes
    files: int
    folders: int
    links: int
    skipped: list[str] = field(default_factory=list)  # "path (reason)" of what was left out


class _Changed(Exception):
    """A file changed size while it was archived."""


def create_snapshot(workspace: Any, *, store: ObjectStore | None = None) -> str:
    """Archive ``workspace`` (anything with ``.path``; its ``.lock_path`` is honoured) and store it once; returns
    the archive's sha256."""
    return take_snapshot(workspace, store=store).digest


def take_snapshot(workspace: Any, *, store: ObjectStore | None = None) -> Snapshot:
    """As :func:`create_snapshot`, with what went in and what was left out (for the job log)."""
    store = store or get_object_store()
    root = Path(workspace.path)
    with tempfile.TemporaryDirectory(prefix="pyrun-snapshot-") as scratch:
        archive = Path(scratch, "snapshot.tar.gz")
        for attempt in range(RETRIES):
            try:
                # Shared: file API writes (which take this lock exclusively) wait, other snapshots do not.
                with _shared_lock(getattr(workspace, "lock_path", None)), archive.open("wb") as out:
                    snapshot = write_archive(root, out)
                break
            except _Changed:
                if attempt == RETRIES - 1:
                    raise PyrunError("job:user:workspace-busy") from None
        if not store.exists(snapshot.digest):
            store.put_file(snapshot.digest, archive)
    return snapshot


def restore_snapshot(digest: str, dest: Path, *, store: ObjectStore | None = None) -> None:
    """Extract snapshot ``digest`` into ``dest`` (created if missing, must be empty)."""
    store = store or get_object_store()
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="pyrun-restore-") as scratch:
        archive = Path(scratch, "snapshot.tar.gz")
        try:
            store.get_file(digest, archive)
        except ObjectNotFound:
            raise PyrunError("job:platform:snapshot-missing", digest=digest) from None
        # The store is outside our process (a shared volume, S3): what comes back must be what went in.
        if _file_sha256(archive) != digest:
            raise PyrunError("job:platform:snapshot-corrupt", digest=digest, reason="its content does not match")
        extract_archive(archive, dest, digest=digest)


# --- Writing -------------------------------------------------------------------------------------------------


class _HashingWriter:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


class _ExactReader:
    """The first ``size`` bytes of an open file, or ``_Changed`` if it ends sooner."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        parts = []
        while n > 0:
            data = os.read(self.fd, n)
            if not data:
                raise _Changed
            parts.append(data)
            n -= len(data)
            self.left -= len(data)
        return b"".join(parts)


def _member(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    # Only what the content is made of: owners, times and device numbers would make equal trees hash apart.
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = linkname
    info.mtime = ARCHIVE_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_archive(root: Path, out: BinaryIO) -> Snapshot:
    """Write the deterministic ``.tar.gz`` of the folder ``root`` to ``out``."""
    try:
        root_fd = safe_walk.open_dir(root)
    except (FileNotFoundError, NotADirectoryError):
        raise PyrunError("workspaces:platform:files-missing", workspace=root.name) from None
    hashing = _HashingWriter(out)
    counts = {"files": 0, "folders": 0}
    skipped: list[str] = []
    links: dict[str, str] = {}

    def left_out(entry: safe_walk.Entry) -> bool:
        try:
            entry.path.encode("utf-8")
        except UnicodeEncodeError:
            skipped.append(f"{entry.path.encode('utf-8', 'backslashreplace').decode()} (a name that is not UTF-8)")
            return True
        return entry.kind is safe_walk.Kind.DIR and entry.name in SKIPPED_DIRS

    def walk_skipped(rel: str, why: safe_walk.Skipped) -> None:
        if why is safe_walk.Skipped.TOO_DEEP:
            skipped.append(f"{rel} (nested deeper than {MAX_DEPTH} folders)")
        else:  # CHANGED: UNREADABLE is raised (no ignore_errors)
            skipped.append(f"{rel} (it changed while the snapshot was taken)")

    try:
        # filename="" and mtime=0: gzip's header would otherwise carry both.
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=hashing, mtime=0, compresslevel=COMPRESS_LEVEL) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar,
        ):
            # Depth-first with sorted names: the members' order is part of the digest.
            for entry in safe_walk.walk(root_fd, skip=left_out, max_depth=MAX_DEPTH, on_skip=walk_skipped):
                _add_entry(tar, entry, counts, links, skipped)
            # Links go last, once every link is known: whether one stays inside can depend on the others.
            kept = 0
            for rel in sorted(links):
                if link_stays_inside(rel, links):
                    tar.addfile(_member(rel, tarfile.SYMTYPE, 0o777, linkname=links[rel]))
                    kept += 1
                else:
                    skipped.append(f"{rel} (a symlink leading outside the workspace)")
    finally:
        os.close(root_fd)
    return Snapshot(
        digest=hashing.hash.hexdigest(),
        size=hashing.size,
        files=counts["files"],
        folders=counts["folders"],
        links=kept,
        skipped=sorted(skipped),
    )


def _add_entry(
    tar: tarfile.TarFile, entry: safe_walk.Entry, counts: dict[str, int], links: dict[str, str], skipped: list[str]
) -> None:
    rel = entry.path
    try:
        if entry.kind is safe_walk.Kind.DIR:
            # The walk's stat of a folder is that of the descriptor it then walks.
            tar.addfile(_member(rel, tarfile.DIRTYPE, entry.stat.st_mode & 0o777))
            counts["folders"] += 1
        elif entry.kind is safe_walk.Kind.FILE:
            _add_file(tar, entry)
            counts["files"] += 1
        elif entry.kind is safe_walk.Kind.SYMLINK:
            links[rel] = entry.readlink()
        else:
            skipped.append(f"{rel} (a special file)")
    except FileNotFoundError:
        pass  # deleted while we looked: as if it had never been there
    except safe_walk.UnexpectedKind:
        skipped.append(f"{rel} (it changed while the snapshot was taken)")


def _add_file(tar: tarfile.TarFile, entry: safe_walk.Entry) -> None:
    source, st = entry.open()
    with source:
        size = st.st_size
        tar.addfile(_member(entry.path, tarfile.REGTYPE, st.st_mode & 0o777, size), _ExactReader(source.fileno(), size))


def link_stays_inside(rel: str, links: Mapping[str, str]) -> bool:
    """Whether the symlink at ``rel`` resolves inside the tree, following ``links`` (the tree's other symlinks,
    ``path → target``) the way the kernel would: ``a/up -> ..`` then ``a/l -> up/..`` leaves it."""
    target = links[rel]
    resolved = rel.split("/")[:-1]
    pending = list(reversed(target.split("/")))
    hops = 0
    if target.startswith("/"):
        return False
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return False
            resolved.pop()
            continue
        resolved.append(part)
        through = links.get("/".join(resolved))
        if through is not None:
            hops += 1
            if hops > MAX_LINK_HOPS or through.startswith("/"):
                return False
            resolved.pop()
            pending.extend(reversed(through.split("/")))
    return True


@contextlib.contextmanager
def _shared_lock(lock_path: Path | None) -> Iterator[None]:
    if lock_path is None:
        yield
        return
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# --- Restoring -----------------------------------------------------------------------------------------------


def extract_archive(archive: Path, dest: Path, *, digest: str = "") -> None:
    """Extract a snapshot archive into the empty (or missing) folder ``dest``; every member is checked first."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty")
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = tar.getmembers()
            _check_members(members, digest)
            folders: list[tuple[Path, int]] = []
            for member in members:
                path = dest / member.name
                if member.isdir():
                    path.mkdir(mode=0o700, parents=True, exist_ok=True)  # the real mode once its contents are in
                    folders.append((path, member.mode & 0o777))
                    continue
                path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                if member.issym():
                    os.symlink(member.linkname, path)
                else:
                    _write_member(tar, member, path)
            for path, mode in reversed(folders):
                os.chmod(path, mode)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, UnicodeError) as exc:
        raise PyrunError("job:platform:snapshot-corrupt", digest=digest or archive.name, reason=str(exc)) from exc


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
    source = tar.extractfile(member)
    assert source is not None  # a regular file always has data
    # O_EXCL | O_NOFOLLOW: never write through something already there (the checks make that impossible anyway).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as out, source:
        for block in iter(lambda: source.read(_CHUNK), b""):
            out.write(block)
        os.fchmod(out.fileno(), member.mode & 0o777)


def _check_members(members: list[tarfile.TarInfo], digest: str) -> None:
    def unsafe(member: tarfile.TarInfo, reason: str) -> PyrunError:
        return PyrunError("job:platform:snapshot-corrupt", digest=digest, reason=f"{member.name!r} {reason}")

    seen: set[str] = set()
    links: dict[str, str] = {}
    not_folders: set[str] = set()
    for member in members:
        name = member.name
        parts = name.split("/")
        if not name or name.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\0" in name:
            raise unsafe(member, "is not a plain relative path")
        if not (member.isreg() or member.isdir() or member.issym()):
            raise unsafe(member, "is neither a file, a folder nor a symlink")
        if name in seen:
            raise unsafe(member, "appears twice")
        seen.add(name)
        if member.issym():
            links[name] = member.linkname
        if not member.isdir():
            not_folders.add(name)
    for member in members:
        parts = member.name.split("/")
        for depth in range(1, len(parts)):
            above = "/".join(parts[:depth])
            if above in links:
                raise unsafe(member, "lies below a symlink")
            if above in not_folders:
                raise unsafe(member, "lies below a file")
        if member.issym() and not link_stays_inside(member.name, links):
            raise unsafe(member, "is a symlink leading outside the snapshot")
