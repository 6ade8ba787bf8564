"""Walking (and opening files in) a folder that tenants write while the platform reads it, never leaving it.

Workspaces, job folders and build contexts change under us (the terminal, the job itself): a name checked a
moment ago may be a symlink, a FIFO or another folder now. So nothing here resolves a path string below the
root. Every folder is opened relative to its parent's descriptor with ``O_DIRECTORY | O_NOFOLLOW`` and must be
the very inode that was listed; files are opened the same way (``O_NONBLOCK``: a FIFO swapped in must not hang
the worker) and their type is checked on the open descriptor. A symlink is reported as one, never followed.

This is the platform's one copy of that logic (snapshots, workspace tree/usage/zip, build contexts, runtime
specs); it imports no app, and ``tests/pyrun_web/test_safe_walk.py`` checks it against hostile trees.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import BinaryIO

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO made in the terminal must not hang a worker.
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# What opening a listed entry fails with when it was swapped for something else meanwhile: a symlink (ELOOP),
# a non-folder where a folder was (ENOTDIR), a socket where a file was (ENXIO).
_SWAPPED = frozenset({errno.ELOOP, errno.ENOTDIR, errno.ENXIO})


class Kind(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    OTHER = "other"  # FIFOs, sockets, devices: listed, never opened by the walk


class Order(StrEnum):
    # A folder, everything below it, then its next sibling (names sorted): the order of an archive's members.
    DEPTH_FIRST = "depth-first"
    # A folder's whole listing, then each subfolder's in turn (os.fwalk's order): a truncated listing keeps the
    # shallow entries.
    BY_FOLDER = "by-folder"


class Skipped(StrEnum):
    """Why the walk left a folder out (given to ``on_skip``)."""

    TOO_DEEP = "too-deep"  # nested ``max_depth`` folders deep or more
    CHANGED = "changed"  # no longer the folder that was listed (a symlink, a file or another folder now)
    UNREADABLE = "unreadable"  # could not be opened or listed (only with ``ignore_errors``)


class UnexpectedKind(OSError):
    """What is at the name now is not the kind expected (a regular file to open, a symlink to read): it was
    swapped after it was listed, or (for :func:`open_inside`) it never was one."""


def kind_of(mode: int) -> Kind:
    if stat.S_ISREG(mode):
        return Kind.FILE
    if stat.S_ISDIR(mode):
        return Kind.DIR
    if stat.S_ISLNK(mode):
        return Kind.SYMLINK
    return Kind.OTHER


def open_dir(path: str | os.PathLike[str], *, dir_fd: int | None = None) -> int:
    """A descriptor of the folder ``path``, which must not itself be a symlink (OSError otherwise)."""
    return os.open(path, DIR_FLAGS, dir_fd=dir_fd)


def open_inside(root: str | os.PathLike[str], rel: str) -> tuple[BinaryIO, os.stat_result]:
    """The regular file at ``rel`` (``"a/b.txt"``) below ``root``, opened folder by folder without following a
    symlink below ``root`` (``root`` itself is the platform's own path and may be one), and its stat.

    FileNotFoundError when something is missing, :class:`UnexpectedKind` when it is not a regular file, other
    OSErrors (ELOOP: a symlink on the way, ENOTDIR, EACCES) as the kernel reports them."""
    *folders, name = rel.split("/")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for folder in folders:
            inner = open_dir(folder, dir_fd=fd)
            os.close(fd)
            fd = inner
        return _open_file(name, fd, rel, swapped_ok=False)
    finally:
        os.close(fd)


def _open_file(name: str, dir_fd: int, rel: str, *, swapped_ok: bool) -> tuple[BinaryIO, os.stat_result]:
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if swapped_ok and exc.errno in _SWAPPED:
            raise UnexpectedKind(exc.errno, f"{rel} is no longer a regular file") from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnexpectedKind(f"{rel} is not a regular file")
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


class _Folder:
    """A folder the walk holds open; entries refer to it to open their file or read their link."""

    __slots__ = ("depth", "fd", "owned", "path")

    def __init__(self, fd: int, path: str, depth: int, *, owned: bool = True) -> None:
        self.fd = fd
        self.path = path  # "" for the root, else "a/b"
        self.depth = depth  # of its entries: 0 for the root's
        self.owned = owned

    def close(self) -> None:
        if self.fd >= 0 and self.owned:
            os.close(self.fd)
        self.fd = -1  # a descriptor number is reused at once: never open relative to a closed one


@dataclass(frozen=True)
class Entry:
    """One entry of the walk. ``stat`` is its lstat when listed; for a folder walked depth-first, the stat of the
    descriptor that is then walked."""

    path: str  # relative to the root, "/"-separated
    name: str
    kind: Kind
    stat: os.stat_result
    depth: int  # folders between the root and the entry: 0 for the root's own entries
    _folder: _Folder = field(repr=False, compare=False)

    def open(self) -> tuple[BinaryIO, os.stat_result]:
        """The file, opened relative to its folder without following a symlink, and its stat (of the open
        descriptor: what will be read). FileNotFoundError when it was deleted meanwhile, :class:`UnexpectedKind`
        when it is no longer a regular file. Only while the walk is still inside the entry's folder."""
        return _open_file(self.name, self._dir_fd(), self.path, swapped_ok=True)

    def readlink(self) -> str:
        """The target of the symlink, as written (never resolved). :class:`UnexpectedKind` when it is no longer
        a symlink."""
        try:
            return os.readlink(self.name, dir_fd=self._dir_fd())
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise UnexpectedKind(exc.errno, f"{self.path} is no longer a symlink") from exc
            raise

    def _dir_fd(self) -> int:
        if self._folder.fd < 0:
            raise RuntimeError(f"the walk has left the folder of {self.path!r}: open it before moving on")
        return self._folder.fd


@dataclass
class _Frame:
    folder: _Folder
    listing: Iterator[os.DirEntry[str]] | None = None  # read when the walk gets to the folder
    subfolders: deque[Entry] = field(default_factory=deque)  # BY_FOLDER: listed, to enter once the listing is done


def walk(
    root: str | os.PathLike[str] | int,
    *,
    order: Order = Order.DEPTH_FIRST,
    skip: Callable[[Entry], bool] | None = None,
    max_depth: int | None = None,
    on_skip: Callable[[str, Skipped], None] | None = None,
    ignore_errors: bool = False,
) -> Iterator[Entry]:
    """Every entry below ``root`` (a path, or a folder descriptor the caller keeps and closes), names sorted,
    folders entered only if they are real folders, symlinks yielded and never followed.

    ``skip``: entries for which it returns True are neither yielded nor entered (it runs after the entry's
    lstat, before a folder is opened). ``max_depth``: folders at that depth or deeper are left out. ``on_skip``
    hears of every folder left out other than by ``skip`` (too deep, swapped, unreadable). Entries deleted
    while walked are left out silently, as if never there. Other errors (EACCES, EMFILE) are raised, or with
    ``ignore_errors`` the folder is left out. The root must be a folder, not a symlink (OSError otherwise).

    Descriptors are held for the open folders only (one per level) and all closed when the generator ends or is
    closed early; an entry's :meth:`Entry.open` works until the walk leaves its folder."""
    top = _Folder(root, "", 0, owned=False) if isinstance(root, int) else _Folder(open_dir(root), "", 0)

    def left_out(path: str, why: Skipped) -> None:
        if on_skip is not None:
            on_skip(path, why)

    def listed(folder: _Folder, item: os.DirEntry[str]) -> Entry | None:
        path = f"{folder.path}/{item.name}" if folder.path else item.name
        try:
            st = item.stat(follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError:
            if not ignore_errors:
                raise
            left_out(path, Skipped.UNREADABLE)
            return None
        entry = Entry(path, item.name, kind_of(st.st_mode), st, folder.depth, folder)
        if skip is not None and skip(entry):
            return None
        if entry.kind is Kind.DIR and max_depth is not None and entry.depth >= max_depth:
            left_out(entry.path, Skipped.TOO_DEEP)
            return None
        return entry

    def enter(entry: Entry) -> _Folder | None:
        try:
            fd = open_dir(entry.name, dir_fd=entry._dir_fd())
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in _SWAPPED:
                left_out(entry.path, Skipped.CHANGED)
            elif ignore_errors:
                left_out(entry.path, Skipped.UNREADABLE)
            else:
                raise
            return None
        folder = _Folder(fd, entry.path, entry.depth + 1)
        # O_NOFOLLOW refuses a symlink; another folder renamed over the name since the listing is refused too.
        if not os.path.samestat(os.fstat(fd), entry.stat):
            folder.close()
            left_out(entry.path, Skipped.CHANGED)
            return None
        return folder

    def read_listing(folder: _Folder) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(folder.fd) as scan:
                return iter(sorted(scan, key=lambda item: item.name))
        except OSError:
            if not ignore_errors or folder is top:
                raise
            left_out(folder.path, Skipped.UNREADABLE)
            return iter(())

    stack = [_Frame(top)]
    try:
        while stack:
            frame = stack[-1]
            if frame.listing is None:
                frame.listing = read_listing(frame.folder)
            item = next(frame.listing, None)
            if item is not None:
                entry = listed(frame.folder, item)
                if entry is None:
                    continue
                if entry.kind is not Kind.DIR:
                    yield entry
                elif order is Order.BY_FOLDER:
                    frame.subfolders.append(entry)
                    yield entry
                else:
                    folder = enter(entry)
                    if folder is not None:
                        stack.append(_Frame(folder))  # before the yield: closed even if the consumer stops here
                        yield replace(entry, stat=os.fstat(folder.fd))
            elif frame.subfolders:
                folder = enter(frame.subfolders.popleft())
                if folder is not None:
                    stack.append(_Frame(folder))
            else:
                stack.pop().folder.close()
    finally:
        for frame in stack:
            frame.folder.close()
