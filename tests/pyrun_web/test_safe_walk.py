"""The symlink-safe walk against random hostile trees: symlinks inside, outside, to ``..``, absolute, dangling,
in loops, FIFOs; folders swapped for symlinks between listing and descending; consumers that stop early.

Each tree lives next to a ``secret`` folder outside it: nothing the walk yields, opens or reads may be in there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyrun_web import safe_walk
from pyrun_web.safe_walk import Kind, Order, Skipped

SECRET = b"the secret outside the tree"
# "{secret}" is the absolute path of the folder outside the tree; "{self}" the link's own name (a loop).
LINK_TARGETS = [
    "..",
    "../..",
    "../secret",
    "../secret/secret.txt",
    "{secret}",
    "{secret}/secret.txt",
    "/",
    ".",
    "a",
    "a/b",
    "b/../..",
    "missing",
    "{self}",
    "c",  # c -> a link to c elsewhere makes a two-link loop
]
NAMES = st.sampled_from(["a", "b", "c", "d.txt", "__pycache__", "é", "Z", "x y"])
LEAVES = st.one_of(
    st.tuples(st.just("file"), st.binary(max_size=40)),
    st.tuples(st.just("link"), st.sampled_from(LINK_TARGETS)),
    st.just(("fifo",)),
)
TREES = st.recursive(
    st.dictionaries(NAMES, LEAVES, max_size=4),
    lambda children: st.dictionaries(NAMES, st.one_of(LEAVES, children.map(lambda tree: ("dir", tree))), max_size=4),
    max_leaves=24,
)
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def hostile_tree(tree: dict) -> Iterator[tuple[Path, Path]]:
    """(root of ``tree`` on disk, the secret folder next to it)."""
    with tempfile.TemporaryDirectory(prefix="safe-walk-") as scratch:
        secret = Path(scratch, "secret")
        secret.mkdir()
        (secret / "secret.txt").write_bytes(SECRET)
        (secret / "inner").mkdir()
        (secret / "inner" / "secret.txt").write_bytes(SECRET)
        root = Path(scratch, "root")
        root.mkdir()
        _build(root, tree, secret)
        yield root, secret


def _build(folder: Path, tree: dict, secret: Path) -> None:
    for name, node in tree.items():
        path = folder / name
        if node[0] == "file":
            path.write_bytes(node[1])
        elif node[0] == "link":
            os.symlink(node[1].format(secret=secret, self=name), path)
        elif node[0] == "fifo":
            os.mkfifo(path)
        else:
            path.mkdir()
            _build(path, node[1], secret)


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def secret_inodes(secret: Path) -> set[tuple[int, int]]:
    found = set()
    for folder, dirs, files in os.walk(secret):
        for name in [".", *dirs, *files]:
            st = os.lstat(os.path.join(folder, name))
            found.add((st.st_dev, st.st_ino))
    return found


def listed_by_os_walk(root: Path) -> dict[str, int]:
    """Path → lstat mode of everything ``os.walk(followlinks=False)`` lists below ``root``."""
    found = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = os.lstat(path).st_mode
    return found


def by_folder_reference(root: Path) -> list[str]:
    """os.fwalk's order: each folder's sorted listing, then its real subfolders' in turn."""
    order = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        order.extend(os.path.relpath(os.path.join(folder, name), root) for name in sorted(dirs + files))
    return order


def read_everything(entries: Iterator[safe_walk.Entry]) -> list[tuple[safe_walk.Entry, bytes | str | None]]:
    """Each entry with what a consumer gets from it: a file's bytes, a link's target."""
    seen = []
    for entry in entries:
        content: bytes | str | None = None
        if entry.kind is Kind.FILE:
            handle, _ = entry.open()
            with handle:
                content = handle.read()
        elif entry.kind is Kind.SYMLINK:
            content = entry.readlink()
        seen.append((entry, content))
    return seen


@FAST
@given(tree=TREES, order=st.sampled_from(list(Order)))
def test_the_walk_lists_what_os_walk_lists_and_reads_nothing_outside(tree: dict, order: Order) -> None:
    with hostile_tree(tree) as (root, secret):
        before = fd_count()
        seen = read_everything(safe_walk.walk(root, order=order))
        assert fd_count() == before

        expected = listed_by_os_walk(root)
        assert {entry.path: entry.stat.st_mode for entry, _ in seen} == expected
        outside = secret_inodes(secret)
        for entry, content in seen:
            parts = entry.path.split("/")
            assert "" not in parts and "." not in parts and ".." not in parts
            assert entry.name == parts[-1] and entry.depth == len(parts) - 1
            # Every folder above the entry is a real folder of the tree, so the entry is inside it.
            assert os.path.realpath(root / entry.path).startswith(f"{root}/") or entry.kind is Kind.SYMLINK
            assert (entry.stat.st_dev, entry.stat.st_ino) not in outside
            assert entry.kind is safe_walk.kind_of(os.lstat(root / entry.path).st_mode)
            if entry.kind is Kind.FILE:
                assert content == (root / entry.path).read_bytes()
                assert content != SECRET
            if entry.kind is Kind.SYMLINK:
                assert content == os.readlink(root / entry.path)


@FAST
@given(tree=TREES)
def test_the_order_is_sorted_and_the_same_every_time(tree: dict) -> None:
    with hostile_tree(tree) as (root, _):
        depth_first = [entry.path for entry in safe_walk.walk(root)]
        # A folder, then everything below it, then its next sibling: sorting by path components.
        assert depth_first == sorted(depth_first, key=lambda path: path.split("/"))
        assert depth_first == [entry.path for entry in safe_walk.walk(root)]
        by_folder = [entry.path for entry in safe_walk.walk(root, order=Order.BY_FOLDER)]
        assert by_folder == by_folder_reference(root)


@FAST
@given(tree=TREES, stop_after=st.integers(min_value=0, max_value=30), order=st.sampled_from(list(Order)))
def test_no_descriptor_is_left_open_when_the_consumer_stops_early(tree: dict, stop_after: int, order: Order) -> None:
    with hostile_tree(tree) as (root, _):
        before = fd_count()
        walk = safe_walk.walk(root, order=order)
        for index, _entry in enumerate(walk):
            if index == stop_after:
                break
        walk.close()
        assert fd_count() == before

        with pytest.raises(LookupError):  # a consumer failing mid-walk
            for index, _entry in enumerate(safe_walk.walk(root, order=order)):
                if index == stop_after:
                    raise LookupError
            raise LookupError
        assert fd_count() == before


@FAST
@given(tree=TREES, data=st.data(), order=st.sampled_from(list(Order)))
def test_a_folder_swapped_for_a_symlink_after_the_listing_is_not_followed(tree: dict, data, order: Order) -> None:
    with hostile_tree(tree) as (root, secret):
        target = data.draw(st.sampled_from([str(secret), "../secret", "..", "."]))
        swapped: list[str] = []
        reported: list[tuple[str, Skipped]] = []

        def swap_some(entry: safe_walk.Entry) -> bool:
            # skip runs between the folder's listing and its opening: the terminal's rename race, made certain.
            # The rename below goes by path, as root: a walk that followed a symlink would hand over a path that
            # resolves outside the tree (a broken walk once had /boot and /dev/net renamed). Such a path fails
            # the test here, before anything is renamed.
            place = root / entry.path
            parent = os.path.dirname(entry.path)
            assert os.path.realpath(place.parent) == os.path.join(os.path.realpath(root), parent).rstrip("/")
            if entry.kind is Kind.DIR and data.draw(st.booleans()):
                os.rename(place, root / f"{entry.path}.moved")
                os.symlink(target, root / entry.path)
                swapped.append(entry.path)
            return False

        before = fd_count()
        seen = read_everything(safe_walk.walk(root, order=order, skip=swap_some, on_skip=lambda *r: reported.append(r)))
        assert fd_count() == before

        outside = secret_inodes(secret)
        for entry, content in seen:
            assert content != SECRET
            assert (entry.stat.st_dev, entry.stat.st_ino) not in outside
            assert not any(entry.path.startswith(f"{path}/") for path in swapped)
        if order is Order.DEPTH_FIRST:  # by folder yields a folder before it enters it
            assert not any(entry.path in swapped for entry, _ in seen)
        assert reported == [(path, Skipped.CHANGED) for path in swapped]


def test_a_folder_swapped_for_another_folder_is_not_walked(tmp_path: Path) -> None:
    (tmp_path / "root" / "a").mkdir(parents=True)
    (tmp_path / "root" / "a" / "mine.txt").write_text("mine")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "theirs.txt").write_text("theirs")
    reported = []

    def swap(entry: safe_walk.Entry) -> bool:
        os.rename(tmp_path / "root" / "a", tmp_path / "a.old")
        os.rename(tmp_path / "elsewhere", tmp_path / "root" / "a")  # a real folder, not the one listed
        return False

    found = [e.path for e in safe_walk.walk(tmp_path / "root", skip=swap, on_skip=lambda *r: reported.append(r))]

    assert found == []
    assert reported == [("a", Skipped.CHANGED)]


def test_a_file_swapped_after_it_was_listed_is_not_opened(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "root"
    root.mkdir()
    for name in ("link", "fifo", "folder", "gone"):
        (root / name).write_text("listed as a file")

    errors = {}
    for entry in safe_walk.walk(root):
        assert entry.path == entry.name and (root / entry.name).is_file()  # only ever touch the tree's own files
        (root / entry.name).unlink()
        if entry.name == "link":
            os.symlink(tmp_path / "secret.txt", root / "link")
        elif entry.name == "fifo":
            os.mkfifo(root / "fifo")  # O_NONBLOCK: opening it does not hang
        elif entry.name == "folder":
            (root / "folder").mkdir()
        with pytest.raises(OSError) as caught:
            entry.open()
        errors[entry.name] = type(caught.value)

    assert errors == {
        "fifo": safe_walk.UnexpectedKind,
        "folder": safe_walk.UnexpectedKind,
        "gone": FileNotFoundError,
        "link": safe_walk.UnexpectedKind,
    }


def test_a_symlink_swapped_for_a_file_is_reported(tmp_path: Path) -> None:
    os.symlink("target", tmp_path / "link")
    for entry in safe_walk.walk(tmp_path):
        os.unlink(tmp_path / "link")
        (tmp_path / "link").write_text("now a file")
        with pytest.raises(safe_walk.UnexpectedKind):
            entry.readlink()


def test_an_entry_cannot_be_opened_once_the_walk_left_its_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    (tmp_path / "b").mkdir()
    entries = list(safe_walk.walk(tmp_path))  # the walk is over: every folder is closed

    assert [e.path for e in entries] == ["a", "a/f.txt", "b"]
    with pytest.raises(RuntimeError, match="left the folder"):
        entries[1].open()


def test_skip_max_depth_and_what_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c" / "deep.txt").write_text("x")
    (tmp_path / "a" / "b" / "f.txt").write_text("x")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.pyc").write_text("x")
    (tmp_path / "keep.txt").write_text("x")
    reported = []

    found = safe_walk.walk(
        tmp_path,
        skip=lambda entry: entry.name == "__pycache__",
        max_depth=2,
        on_skip=lambda *r: reported.append(r),
    )

    assert [(e.path, e.kind, e.depth) for e in found] == [
        ("a", Kind.DIR, 0),
        ("a/b", Kind.DIR, 1),
        ("a/b/f.txt", Kind.FILE, 2),
        ("keep.txt", Kind.FILE, 0),
    ]
    assert reported == [("a/b/c", Skipped.TOO_DEEP)]


def test_the_root_must_be_a_folder_not_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    (tmp_path / "file").write_text("x")

    with pytest.raises(NotADirectoryError):  # what O_DIRECTORY | O_NOFOLLOW gives for a link to a folder
        list(safe_walk.walk(tmp_path / "link"))
    with pytest.raises(NotADirectoryError):
        list(safe_walk.walk(tmp_path / "file"))
    with pytest.raises(FileNotFoundError):
        list(safe_walk.walk(tmp_path / "missing"))


def test_a_root_descriptor_stays_the_callers(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    fd = safe_walk.open_dir(tmp_path)
    try:
        assert [e.path for e in safe_walk.walk(fd)] == ["f.txt"]
        assert [e.path for e in safe_walk.walk(fd)] == ["f.txt"]  # still open, still at the start
    finally:
        os.close(fd)


def test_open_inside_never_follows_a_symlink_below_the_root(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "root"
    (root / ".pyrun").mkdir(parents=True)
    (root / ".pyrun" / "env.yml").write_text("name: x")
    os.symlink(tmp_path / "secret.txt", root / ".pyrun" / "link.yml")
    os.mkfifo(root / ".pyrun" / "fifo.yml")
    os.symlink(tmp_path, root / "up")
    os.symlink(root, tmp_path / "root-link")  # the root itself is the platform's path: it may be a link

    handle, st = safe_walk.open_inside(tmp_path / "root-link", ".pyrun/env.yml")
    with handle:
        assert handle.read() == b"name: x"
    assert st.st_size == 7
    with pytest.raises(OSError) as caught:
        safe_walk.open_inside(root, ".pyrun/link.yml")
    assert caught.value.errno == errno.ELOOP
    with pytest.raises(NotADirectoryError):
        safe_walk.open_inside(root, "up/secret.txt")
    with pytest.raises(safe_walk.UnexpectedKind):
        safe_walk.open_inside(root, ".pyrun/fifo.yml")
    with pytest.raises(safe_walk.UnexpectedKind):
        safe_walk.open_inside(root, ".pyrun")
    with pytest.raises(FileNotFoundError):
        safe_walk.open_inside(root, ".pyrun/missing.yml")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode 000 folder anyway")
def test_an_unreadable_folder_is_raised_or_left_out(tmp_path: Path) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "f.txt").write_text("x")
    (tmp_path / "open.txt").write_text("x")
    os.chmod(tmp_path / "locked", 0)
    try:
        with pytest.raises(PermissionError):
            list(safe_walk.walk(tmp_path))
        reported = []
        found = [e.path for e in safe_walk.walk(tmp_path, ignore_errors=True, on_skip=lambda *r: reported.append(r))]
        assert found == ["open.txt"]
        assert reported == [("locked", Skipped.UNREADABLE)]
    finally:
        os.chmod(tmp_path / "locked", 0o700)
