"""A workspace's files on disk: tree, reads, atomic writes with etags, folders, moves, deletes, uploads, quotas.

The directory is the truth (the terminal and jobs change it too), so sizes and etags are always read from disk.
Every path goes through ``workspaces.paths``; every descriptor opened here is checked to point inside the
workspace. Writes land in a spool file outside the workspace first and are moved into place atomically, so a
reader never sees half a file and a refused upload leaves nothing behind. Changes to one workspace are
serialised with a lock file, which makes the etag precondition and the quota check race-free between processes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pyrun_web import safe_walk
from pyrun_web.errors import PyrunError
from workspaces import archives, paths
from workspaces.paths import bad_path

CHUNK = 1024 * 1024
TREE_LIMIT = 20_000


@dataclass(frozen=True)
class Entry:
    path: str
    name: str
    type: str  # "file", "dir", "symlink" or "other"
    size: int
    mtime: datetime
    etag: str | None


@dataclass(frozen=True)
class Tree:
    path: str
    size: int
    truncated: bool
    entries: list[Entry]


def etag_of(st: os.stat_result) -> str:
    """Changes whenever the file is replaced (new inode) or modified in place (mtime, size); costs no read."""
    return hashlib.blake2b(f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}".encode(), digest_size=10).hexdigest()


def _entry(rel: str, st: os.stat_result) -> Entry:
    # FIFOs, sockets, devices made in the terminal are "other": listed, never read.
    kind = safe_walk.kind_of(st.st_mode).value
    return Entry(
        path=rel,
        name=rel.rsplit("/", 1)[-1],
        type=kind,
        size=st.st_size if kind == "file" else 0,
        mtime=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        etag=etag_of(st) if kind == "file" else None,
    )


def etag_matches(etag: str, header_values: Iterable[str]) -> bool:
    """RFC 9110 If-Match comparison; quotes and the ``W/`` prefix are optional for convenience."""
    for value in header_values:
        candidate = value.strip().removeprefix("W/").strip('"')
        if candidate in ("*", etag):
            return True
    return False


def read_chunks(fileobj: BinaryIO) -> Iterator[bytes]:
    while chunk := fileobj.read(CHUNK):
        yield chunk


@dataclass(frozen=True)
class Incoming:
    """A file to place in the workspace, already spooled to ``spooled`` (or a folder when that is None)."""

    rel: str
    spooled: Path | None


class WorkspaceFiles:
    def __init__(
        self,
        root: Path,
        *,
        max_file_bytes: int,
        max_workspace_bytes: int,
        spool_dir: Path,
        lock_path: Path,
        on_change: Callable[[int], None] | None = None,
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.max_file_bytes = max_file_bytes
        self.max_workspace_bytes = max_workspace_bytes
        self.spool_dir = spool_dir
        self.lock_path = lock_path
        self.on_change = on_change

    # --- reading -------------------------------------------------------------------------------------------

    def usage(self) -> int:
        total = 0
        for entry in safe_walk.walk(self.root, ignore_errors=True):
            if entry.kind is safe_walk.Kind.FILE:
                total += entry.stat.st_size
        return total

    def tree(self, raw: str = "") -> Tree:
        self._check_root()
        rel = paths.normalize(raw)
        real = paths.resolve(self.root, raw)
        entries: list[Entry] = []
        dir_sizes: dict[str, int] = {}
        total, truncated = 0, False
        dirfd = self._open_dir(real, rel)
        try:
            # By folder: when the listing is cut at TREE_LIMIT, what is kept is every folder's own listing first.
            for found in safe_walk.walk(dirfd, order=safe_walk.Order.BY_FOLDER, ignore_errors=True):
                entry = _entry(found.path, found.stat)
                total += entry.size
                for ancestor in _ancestors(entry.path):
                    dir_sizes[ancestor] = dir_sizes.get(ancestor, 0) + entry.size
                if len(entries) < TREE_LIMIT:
                    entries.append(entry)
                else:
                    truncated = True
        finally:
            os.close(dirfd)
        entries = [
            Entry(e.path, e.name, e.type, dir_sizes.get(e.path, 0), e.mtime, e.etag) if e.type == "dir" else e
            for e in sorted(entries, key=lambda e: e.path)
        ]
        return Tree(path=rel, size=total, truncated=truncated, entries=entries)

    def open(self, raw: str) -> tuple[BinaryIO, Entry]:
        """An open file and its entry; the caller closes the file."""
        self._check_root()
        rel = paths.normalize(raw)
        real = paths.resolve(self.root, raw)
        if not rel:
            raise PyrunError("workspaces:user:is-a-folder", path=rel)
        dirfd = self._open_dir(real.parent, rel)
        try:
            fd = os.open(real.name, safe_walk.FILE_FLAGS, dir_fd=dirfd)
        except FileNotFoundError as exc:
            raise PyrunError("workspaces:user:no-such-path", path=rel) from exc
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise bad_path(raw, "it became a symlink while it was opened") from exc
        finally:
            os.close(dirfd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            if stat.S_ISDIR(st.st_mode):
                raise PyrunError("workspaces:user:is-a-folder", path=rel)
            raise bad_path(raw, "it is not a regular file")
        return os.fdopen(fd, "rb"), _entry(rel, st)

    # --- writing -------------------------------------------------------------------------------------------

    def write(
        self,
        raw: str,
        chunks: Iterable[bytes],
        *,
        if_match: list[str] | None = None,
        if_none_match: bool = False,
    ) -> tuple[Entry, bool]:
        """Replace (or create) a file atomically; returns its entry and whether it was created.

        ``if_match``: etags of the version the caller edited (412 when the file is now another version or gone);
        ``if_none_match``: only create, never overwrite.
        """
        rel = paths.normalize(raw)
        real = paths.resolve(self.root, raw)
        if not rel:
            raise PyrunError("workspaces:user:is-a-folder", path=rel)
        spooled = self._spool(chunks, rel)
        try:
            with self._locked():
                current = _lstat(real)
                if current is not None and stat.S_ISDIR(current.st_mode):
                    raise PyrunError("workspaces:user:is-a-folder", path=rel)
                if if_match is not None and (current is None or not etag_matches(etag_of(current), if_match)):
                    raise PyrunError("workspaces:user:etag-mismatch", path=rel, etag=_etag_text(current))
                if if_none_match and current is not None:
                    raise PyrunError("workspaces:user:exists-precondition", path=rel)
                self._check_layout([rel], {rel: real})
                total = self._check_quota({real: spooled.stat().st_size})
                entry = self._place(spooled, real, rel)
        finally:
            spooled.unlink(missing_ok=True)
        self._changed(total)
        return entry, current is None

    def mkdir(self, raw: str) -> Entry:
        rel = paths.normalize(raw)
        real = paths.resolve(self.root, raw)
        if not rel:
            raise PyrunError("workspaces:user:exists", path=rel)
        with self._locked():
            if _lstat(real) is not None:
                raise PyrunError("workspaces:user:exists", path=rel)
            self._check_layout([rel], {rel: real}, folders={rel})
            self._makedirs(real, rel)
            dirfd = self._open_dir(real, rel)
            try:
                return _entry(rel, os.fstat(dirfd))
            finally:
                os.close(dirfd)

    def move(self, raw_from: str, raw_to: str) -> Entry:
        src, dst = paths.normalize(raw_from), paths.normalize(raw_to)
        if not src or not dst:
            raise bad_path(raw_from if not src else raw_to, "the workspace root cannot be moved or replaced")
        if dst == src or dst.startswith(src + "/"):
            raise PyrunError("workspaces:user:move-into-itself", path=src)
        src_real = paths.resolve(self.root, raw_from, follow_symlinks=False)
        dst_real = paths.resolve(self.root, raw_to, follow_symlinks=False)
        with self._locked():
            if _lstat(src_real) is None:
                raise PyrunError("workspaces:user:no-such-path", path=src)
            if _lstat(dst_real) is not None:
                raise PyrunError("workspaces:user:exists", path=dst)
            self._check_layout([dst], {dst: dst_real})
            self._makedirs(dst_real.parent, dst.rpartition("/")[0])
            src_fd = self._open_dir(src_real.parent, src)
            try:
                dst_fd = self._open_dir(dst_real.parent, dst)
                try:
                    os.rename(src_real.name, dst_real.name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
                    st = os.stat(dst_real.name, dir_fd=dst_fd, follow_symlinks=False)
                except OSError as exc:
                    if exc.errno == errno.EINVAL:  # the kernel's own "into itself" check, through symlinks too
                        raise PyrunError("workspaces:user:move-into-itself", path=src) from exc
                    raise
                finally:
                    os.close(dst_fd)
            finally:
                os.close(src_fd)
        return _entry(dst, st)

    def delete(self, raw: str) -> None:
        """Delete a file, a symlink (not its target) or a folder with everything in it."""
        rel = paths.normalize(raw)
        if not rel:
            raise bad_path(raw, "the workspace root cannot be deleted")
        real = paths.resolve(self.root, raw, follow_symlinks=False)
        with self._locked():
            dirfd = self._open_dir(real.parent, rel)
            try:
                try:
                    st = os.stat(real.name, dir_fd=dirfd, follow_symlinks=False)
                except FileNotFoundError as exc:
                    raise PyrunError("workspaces:user:no-such-path", path=rel) from exc
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(real.name, dir_fd=dirfd)
                else:
                    os.unlink(real.name, dir_fd=dirfd)
            finally:
                os.close(dirfd)
            total = self.usage()
        self._changed(total)

    def upload(
        self,
        raw_dir: str,
        *,
        files: Iterable[tuple[str, BinaryIO]] = (),
        archives_: Iterable[tuple[str, BinaryIO]] = (),
    ) -> list[Entry]:
        """Put uploaded files into a folder and unpack zips there; all or nothing."""
        base = paths.normalize(raw_dir)
        paths.resolve(self.root, raw_dir)
        incoming: list[Incoming] = []
        try:
            for name, fileobj in files:
                rel = _join(base, _single_name(name))
                incoming.append(Incoming(rel, self._spool(read_chunks(fileobj), rel)))
            for name, fileobj in archives_:
                incoming.extend(self._unpack(base, name, fileobj))
            return self._place_all(incoming)
        finally:
            for item in incoming:
                if item.spooled is not None:
                    item.spooled.unlink(missing_ok=True)

    def archive(self, raw: str = "") -> tuple[tempfile.SpooledTemporaryFile, str]:
        """A zip of a folder (or of the whole workspace) and the folder's normalised path."""
        self._check_root()
        rel = paths.normalize(raw)
        real = paths.resolve(self.root, raw)
        os.close(self._open_dir(real, rel))
        return archives.build_zip(real), rel

    # --- internals -----------------------------------------------------------------------------------------

    def _unpack(self, base: str, name: str, fileobj: BinaryIO) -> list[Incoming]:
        archive = archives.open_zip(fileobj, name)
        incoming: list[Incoming] = []
        with archive:
            members = archives.plan(
                archive, name, max_file_bytes=self.max_file_bytes, max_total_bytes=self.max_workspace_bytes
            )
            try:
                for member in members:
                    rel = _join(base, member.rel)
                    if member.is_dir:
                        incoming.append(Incoming(rel, None))
                    else:
                        incoming.append(Incoming(rel, self._spool(archives.member_chunks(archive, member, name), rel)))
            except BaseException:
                for item in incoming:
                    if item.spooled is not None:
                        item.spooled.unlink(missing_ok=True)
                raise
        return incoming

    def _place_all(self, incoming: list[Incoming]) -> list[Entry]:
        targets = {item.rel: paths.resolve(self.root, item.rel) for item in incoming}
        with self._locked():
            self._check_layout([i.rel for i in incoming], targets, folders={i.rel for i in incoming if not i.spooled})
            sizes: dict[Path, int] = {}
            for item in incoming:
                if item.spooled is not None:
                    sizes[targets[item.rel]] = item.spooled.stat().st_size
            total = self._check_quota(sizes)
            placed = []
            for item in incoming:
                real = targets[item.rel]
                if item.spooled is None:
                    self._makedirs(real, item.rel)
                else:
                    placed.append(self._place(item.spooled, real, item.rel))
        self._changed(total)
        return placed

    def _spool(self, chunks: Iterable[bytes], rel: str) -> Path:
        """Copy a stream to a private file outside the workspace, stopping at the per-file limit."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.spool_dir, prefix="in-")
        spooled, written = Path(name), 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    written += len(chunk)
                    if written > self.max_file_bytes:
                        raise PyrunError("workspaces:user:file-too-large", path=rel, limit=self.max_file_bytes)
                    out.write(chunk)
        except BaseException:
            spooled.unlink(missing_ok=True)
            raise
        return spooled

    def _place(self, spooled: Path, real: Path, rel: str) -> Entry:
        self._makedirs(real.parent, rel.rpartition("/")[0])
        current = _lstat(real)
        # Keep an existing file's mode (an executable script stays executable); new files are 0644.
        os.chmod(spooled, stat.S_IMODE(current.st_mode) if current is not None else 0o644)
        dirfd = self._open_dir(real.parent, rel)
        try:
            os.replace(spooled, real.name, dst_dir_fd=dirfd)
            return _entry(rel, os.stat(real.name, dir_fd=dirfd, follow_symlinks=False))
        finally:
            os.close(dirfd)

    def _check_layout(self, rels: list[str], targets: dict[str, Path], folders: frozenset | set = frozenset()) -> None:
        """Refuse writes whose folders are files, whose files are folders, or that clash with each other."""
        new_files = {rel for rel in rels if rel not in folders}
        for rel in rels:
            for ancestor in _ancestors(rel):
                if ancestor in new_files:
                    raise PyrunError("workspaces:user:not-a-folder", path=ancestor)
                if _lstat(self.root / ancestor) is not None and not os.path.isdir(self.root / ancestor):
                    raise PyrunError("workspaces:user:not-a-folder", path=ancestor)
            st = _lstat(targets[rel])
            if st is not None and rel in new_files and stat.S_ISDIR(st.st_mode):
                raise PyrunError("workspaces:user:is-a-folder", path=rel)
            if st is not None and rel in folders and not stat.S_ISDIR(st.st_mode):
                raise PyrunError("workspaces:user:not-a-folder", path=rel)

    def _check_quota(self, new_sizes: dict[Path, int]) -> int:
        """The workspace size after replacing these files; 413 beyond the org's limit."""
        replaced = 0
        for real, _ in new_sizes.items():
            st = _lstat(real)
            if st is not None and stat.S_ISREG(st.st_mode):
                replaced += st.st_size
        total = self.usage() - replaced + sum(new_sizes.values())
        if total > self.max_workspace_bytes:
            raise PyrunError("workspaces:user:quota-exceeded", size=total, limit=self.max_workspace_bytes)
        return total

    def _makedirs(self, real: Path, rel: str) -> None:
        try:
            real.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise PyrunError("workspaces:user:not-a-folder", path=rel) from exc
        os.close(self._open_dir(real, rel))

    def _open_dir(self, real: Path, rel: str) -> int:
        try:
            fd = safe_walk.open_dir(real)
        except FileNotFoundError as exc:
            raise PyrunError("workspaces:user:no-such-path", path=rel) from exc
        except NotADirectoryError as exc:
            raise PyrunError("workspaces:user:not-a-folder", path=rel) from exc
        except OSError as exc:  # ELOOP: a symlink appeared where a folder was checked
            raise bad_path(rel, "it leads outside the workspace") from exc
        if not paths.fd_is_within(fd, self.root):
            os.close(fd)
            raise bad_path(rel, "it leads outside the workspace")
        return fd

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise PyrunError("workspaces:platform:files-missing", workspace=self.root.name)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._check_root()
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _changed(self, total: int) -> None:
        if self.on_change is not None:
            self.on_change(total)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _etag_text(st: os.stat_result | None) -> str:
    return etag_of(st) if st is not None else "none (it was deleted)"


def _ancestors(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _join(base: str, rel: str) -> str:
    return f"{base}/{rel}" if base else rel


def _single_name(name: str) -> str:
    rel = paths.normalize(name)
    if not rel or "/" in rel:
        raise bad_path(name, "an uploaded file name must be a single name")
    return rel
