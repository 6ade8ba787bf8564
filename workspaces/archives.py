"""Zip archives in and out of a workspace: a safety plan for uploads, and folder downloads.

An uploaded zip is checked entry by entry before anything is unpacked: no path may leave the target folder
(zip-slip), symlink and encrypted entries are refused, and bombs are stopped by an entry cap, a total-size cap
and a per-entry expansion ratio. ``zipfile`` never yields more than an entry's declared size and checks its CRC,
so the declared sizes checked here bound what is written.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pyrun_web import safe_walk
from pyrun_web.errors import PyrunError
from workspaces import paths

MAX_ENTRIES = 10_000
MAX_RATIO = 200
RATIO_MIN_BYTES = 1024 * 1024  # small entries of repeated text legitimately compress very well
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Member:
    rel: str
    info: zipfile.ZipInfo
    is_dir: bool


def open_zip(fileobj: BinaryIO, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise PyrunError("workspaces:user:bad-zip", name=name) from exc


def plan(archive: zipfile.ZipFile, name: str, *, max_file_bytes: int, max_total_bytes: int) -> list[Member]:
    """The entries to unpack, relative to the target folder; raises before anything is written."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise PyrunError("workspaces:user:zip-bomb", name=name, reason=f"it has more than {MAX_ENTRIES} entries")
    members, total = [], 0
    for info in infos:
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _unsafe(name, info, "symbolic links are not unpacked")
        if info.flag_bits & 0x1:
            raise _unsafe(name, info, "encrypted entries are not supported")
        try:
            rel = paths.normalize(info.filename)
        except PyrunError as exc:
            raise _unsafe(name, info, exc.params["reason"]) from exc
        if not rel:
            continue
        if info.is_dir():
            members.append(Member(rel, info, is_dir=True))
            continue
        if info.file_size > max_file_bytes:
            raise PyrunError("workspaces:user:file-too-large", path=rel, limit=max_file_bytes)
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            reason = f"{info.filename!r} expands more than {MAX_RATIO} times"
            raise PyrunError("workspaces:user:zip-bomb", name=name, reason=reason)
        total += info.file_size
        if total > max_total_bytes:
            raise PyrunError("workspaces:user:quota-exceeded", size=total, limit=max_total_bytes)
        members.append(Member(rel, info, is_dir=False))
    return members


def member_chunks(archive: zipfile.ZipFile, member: Member, name: str) -> Iterator[bytes]:
    try:
        with archive.open(member.info) as source:
            while chunk := source.read(CHUNK):
                yield chunk
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:  # bad CRC, truncated, odd method
        raise PyrunError("workspaces:user:bad-zip", name=name) from exc


def _unsafe(name: str, info: zipfile.ZipInfo, reason: str) -> PyrunError:
    return PyrunError("workspaces:user:zip-unsafe-entry", name=name, entry=info.filename, reason=reason)


def build_zip(real_dir: Path) -> tempfile.SpooledTemporaryFile:
    """A zip of a folder (paths relative to it), rewound. Symlinks and special files are left out, and so is
    everything when ``real_dir`` is no folder (a symlink or a file swapped in after the caller's check)."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (returned open to the caller)
    try:
        root_fd = safe_walk.open_dir(real_dir)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        root_fd = None
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if root_fd is not None:
            try:
                _add_folder(archive, root_fd)
            finally:
                os.close(root_fd)
    out.seek(0)
    return out


def _add_folder(archive: zipfile.ZipFile, root_fd: int) -> None:
    # By folder, as os.fwalk: each folder's files, then its subfolders'. A folder gets an entry of its own only
    # when it is empty (one with something in it, or that could not be entered, does not): those come last, once
    # that is known.
    folders: dict[str, os.stat_result] = {}
    unmarked: set[str] = set()
    for entry in safe_walk.walk(
        root_fd, order=safe_walk.Order.BY_FOLDER, ignore_errors=True, on_skip=lambda rel, _: unmarked.add(rel)
    ):
        unmarked.add(entry.path.rpartition("/")[0])
        if entry.kind is safe_walk.Kind.DIR:
            folders[entry.path] = entry.stat
        elif entry.kind is safe_walk.Kind.FILE:
            _add_file(archive, entry)
    for rel, st in sorted(folders.items(), key=lambda item: item[0].split("/")):  # in the order they were entered
        if rel not in unmarked:
            archive.writestr(_info(rel + "/", st), b"")


def _add_file(archive: zipfile.ZipFile, entry: safe_walk.Entry) -> None:
    try:
        source, st = entry.open()
    except OSError:  # removed, or swapped for a symlink or a special file, meanwhile
        return
    with source:
        info = _info(entry.path, st)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=st.st_size > 2**31) as target:
            while chunk := source.read(CHUNK):
                target.write(chunk)


def _info(arcname: str, st: os.stat_result) -> zipfile.ZipInfo:
    mtime = max(datetime.fromtimestamp(st.st_mtime, tz=UTC), datetime(1980, 1, 1, tzinfo=UTC))
    info = zipfile.ZipInfo(arcname, date_time=mtime.timetuple()[:6])
    info.external_attr = (st.st_mode & 0xFFFF) << 16
    if arcname.endswith("/"):
        info.external_attr |= 0x10  # MS-DOS directory flag, for unzip tools that look only at it
    return info
