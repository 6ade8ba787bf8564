"""The local side of ``pyrun push``: list a folder's files (minus ignored ones) and pack them into zips the
upload endpoint accepts."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pyrun_cli.ignore import Ignore

# The server refuses zips of more than 10,000 entries, and entries over 1 MiB that expand more than 200 times
# (a zip-bomb guard): stay well inside both.
MAX_ENTRIES_PER_ZIP = 5_000
MAX_BYTES_PER_ZIP = 64 * 1024 * 1024
RATIO_CHECK_BYTES = 1024 * 1024
SAFE_RATIO = 100
SPOOL_BYTES = 8 * 1024 * 1024


@dataclass
class LocalTree:
    root: Path
    files: dict[str, int] = field(default_factory=dict)  # relative path -> size
    dirs: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # symlinked folders, broken links, sockets...


def scan(root: Path, ignore: Ignore) -> LocalTree:
    tree = LocalTree(root)
    for dirpath, dirnames, filenames, dirfd in os.fwalk(root, follow_symlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        kept = []
        for name in sorted(dirnames):
            rel = prefix + name
            if ignore(rel, is_dir=True):
                continue
            if _is_symlink(name, dirfd):
                tree.skipped.append(rel)  # never followed: it may loop, or lead out of the folder
                continue
            kept.append(name)
            tree.dirs.add(rel)
        dirnames[:] = kept  # prune: nothing below an ignored folder is visited
        for name in sorted(filenames):
            rel = prefix + name
            if ignore(rel, is_dir=False):
                continue
            try:
                st = os.stat(name, dir_fd=dirfd)  # follows a symlink to a file: its content is pushed
            except OSError:
                tree.skipped.append(rel)
                continue
            if stat.S_ISREG(st.st_mode):
                tree.files[rel] = st.st_size
            else:  # a FIFO, a socket, a device
                tree.skipped.append(rel)
    return tree


def _is_symlink(name: str, dirfd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode)
    except FileNotFoundError:  # removed while we looked: nothing to push
        return True


def empty_dirs(tree: LocalTree) -> set[str]:
    parents = {rel.rpartition("/")[0] for rel in (*tree.files, *tree.dirs)}
    return tree.dirs - parents


def batches(tree: LocalTree) -> Iterator[list[str]]:
    """Paths (files, then empty folders as ``name/``) in groups that each fit in one zip."""
    batch: list[str] = []
    size = 0
    for rel in [*sorted(tree.files), *(d + "/" for d in sorted(empty_dirs(tree)))]:
        entry_size = tree.files.get(rel, 0)
        if batch and (len(batch) >= MAX_ENTRIES_PER_ZIP or size + entry_size > MAX_BYTES_PER_ZIP):
            yield batch
            batch, size = [], 0
        batch.append(rel)
        size += entry_size
    if batch:
        yield batch


def build_zip(root: Path, paths: list[str]) -> tempfile.SpooledTemporaryFile:
    """A zip of ``paths`` (relative to ``root``), rewound, ready to upload; the caller closes it."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open, the caller closes it
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, strict_timestamps=False) as archive:
        for rel in paths:
            if rel.endswith("/"):
                archive.writestr(zipfile.ZipInfo(rel), b"")
                continue
            source = root / rel
            archive.write(source, rel, compress_type=_compression_for(source))
    out.seek(0)
    return out


def _compression_for(path: Path) -> int:
    """Very repetitive large files (zeros, sparse CSVs) would trip the server's zip-bomb guard: store them."""
    if path.stat().st_size < RATIO_CHECK_BYTES:
        return zipfile.ZIP_DEFLATED
    compressor, packed, total = zlib.compressobj(), 0, 0
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            total += len(chunk)
            packed += len(compressor.compress(chunk))
    packed += len(compressor.flush())
    return zipfile.ZIP_STORED if total > SAFE_RATIO * max(packed, 1) else zipfile.ZIP_DEFLATED


def warn_skipped(tree: LocalTree) -> None:
    for rel in tree.skipped:
        print(f"pyrun: skipped {rel} (not a regular file: a symlinked folder, broken link, FIFO...)", file=sys.stderr)
