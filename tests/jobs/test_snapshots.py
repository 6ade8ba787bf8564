"""Code snapshots: equal trees give equal digests, restores round-trip bytes, modes, folders and names, symlinks are
kept only when they stay inside, hostile archives cannot write or point outside the destination, and the object
stores (local folder, S3 through moto) keep objects whole."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured

from jobs import snapshots
from jobs.snapshots import create_snapshot, extract_archive, restore_snapshot, take_snapshot
from pyrun_web.errors import PyrunError
from pyrun_web.infra.object_store import LocalObjectStore, ObjectNotFound, S3ObjectStore, get_object_store
from tests.conftest import make_bucket

REGION = "eu-west-1"
BUCKET = "pyrun-test-objects"


class CountingStore(LocalObjectStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts = 0

    def put_file(self, key: str, path: Path) -> None:
        self.puts += 1
        super().put_file(key, path)


@pytest.fixture
def store(tmp_path) -> CountingStore:
    return CountingStore(tmp_path / "objects")


def workspace(path: Path) -> SimpleNamespace:
    return SimpleNamespace(path=path, lock_path=path.parent / ".locks" / f"{path.name}.lock")


def make_tree(root: Path) -> None:
    """Files of every kind a workspace holds."""
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "empty" / "deeper").mkdir(parents=True)
    (root / ".pyrun").mkdir()
    (root / "main.py").write_text("print('hello')\n")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(root / "run.sh", 0o755)  # noqa: S103 (a script, as users make them executable)
    (root / "private.txt").write_text("mine")
    os.chmod(root / "private.txt", 0o600)
    (root / "pkg" / "__init__.py").write_bytes(b"")
    (root / "pkg" / "sub" / "data.bin").write_bytes(bytes(range(256)) * 4096 + hashlib.sha256(b"seed").digest() * 100)
    (root / "données").mkdir()
    (root / "données" / "naïve ☃ 文件.py").write_text("x = 'ü'\n")
    (root / ".pyrun" / "environment.yml").write_text("dependencies: [python=3.11]\n")
    os.symlink("pkg/sub/data.bin", root / "link-to-data")
    os.symlink("../main.py", root / "pkg" / "main-link.py")
    os.symlink("sub", root / "pkg" / "dir-link")


def listing(root: Path) -> dict[str, tuple]:
    """What a tree is made of: per path, its kind, permission bits and content (or link target)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                found[rel] = ("file", stat.S_IMODE(st.st_mode), hashlib.sha256(path.read_bytes()).hexdigest())
    return found


# --- Determinism ------------------------------------------------------------------------------------------------


def test_equal_trees_give_the_same_digest_whatever_their_times(tmp_path, store):
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        root.mkdir()
        make_tree(root)
    os.utime(second / "main.py", (1_000_000, 1_000_000))
    os.utime(second / "pkg", (2_000_000, 2_000_000))
    assert create_snapshot(workspace(first), store=store) == create_snapshot(workspace(second), store=store)
    assert store.puts == 1  # stored once


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "main.py").write_text("print('hello!')\n"),
        lambda root: os.chmod(root / "main.py", 0o755),  # noqa: S103
        lambda root: (root / "empty" / "new").mkdir(),
        lambda root: (root / "main.py").rename(root / "renamed.py"),
        lambda root: os.symlink("main.py", root / "another-link"),
    ],
    ids=["content", "mode", "folder", "rename", "symlink"],
)
def test_any_change_gives_another_digest(tmp_path, store, change):
    root = tmp_path / "ws"
    root.mkdir()
    make_tree(root)
    before = create_snapshot(workspace(root), store=store)
    change(root)
    assert create_snapshot(workspace(root), store=store) != before


def test_bytecode_caches_are_left_out(tmp_path, store):
    root = tmp_path / "ws"
    root.mkdir()
    make_tree(root)
    before = create_snapshot(workspace(root), store=store)
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0" * 100)
    assert create_snapshot(workspace(root), store=store) == before


def test_the_digest_is_the_sha256_of_the_stored_object(tmp_path, store):
    root = tmp_path / "ws"
    root.mkdir()
    make_tree(root)
    digest = create_snapshot(workspace(root), store=store)
    stored = store.path(digest)
    assert stored.relative_to(store.root).as_posix() == f"{digest[:2]}/{digest[2:4]}/{digest}"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    assert not list(stored.parent.glob(".*.part"))


# --- Round trip ---------------------------------------------------------------------------------------------------


def test_restore_round_trips_files_modes_folders_names_and_links(tmp_path, store):
    root = tmp_path / "ws"
    root.mkdir()
    make_tree(root)
    os.chmod(root / "empty", 0o750)  # noqa: S103
    snapshot = take_snapshot(workspace(root), store=store)
    assert (snapshot.files, snapshot.links, snapshot.skipped) == (7, 3, [])
    dest = tmp_path / "restored"
    restore_snapshot(snapshot.digest, dest, store=store)
    assert listing(dest) == listing(root)
    assert (dest / "pkg" / "dir-link" / "data.bin").read_bytes() == (root / "pkg" / "sub" / "data.bin").read_bytes()


def test_links_leading_outside_and_special_files_are_left_out(tmp_path, store):
    root = tmp_path / "ws"
    (root / "a").mkdir(parents=True)
    (root / "ok.py").write_text("ok")
    os.symlink("/etc/passwd", root / "absolute")
    os.symlink("../../outside", root / "a" / "up-and-out")
    os.symlink("..", root / "a" / "up")  # inside by itself (the root) ...
    os.symlink("up/..", root / "a" / "sneaky")  # ... but through it this one leaves: a/up/.. is the root's parent
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.mkfifo(root / "fifo")
    snapshot = take_snapshot(workspace(root), store=store)
    left_out = {entry.split(" ")[0] for entry in snapshot.skipped}
    assert left_out == {"absolute", "a/up-and-out", "a/sneaky", "loop1", "loop2", "fifo"}
    dest = tmp_path / "restored"
    restore_snapshot(snapshot.digest, dest, store=store)
    assert sorted(listing(dest)) == ["a", "a/up", "ok.py"]


def test_a_real_workspace_snapshot(tenants, store, tmp_path):
    from workspaces.models import Workspace

    ws = Workspace.objects.create(org=tenants.org, name="snap", slug="snap")
    ws.path.mkdir(parents=True)
    ws.files.write("main.py", [b"print(1)\n"])
    dest = tmp_path / "restored"
    restore_snapshot(create_snapshot(ws, store=store), dest, store=store)
    assert (dest / "main.py").read_bytes() == b"print(1)\n"


def test_a_missing_workspace_folder_is_a_platform_error(tmp_path, store):
    with pytest.raises(PyrunError) as caught:
        create_snapshot(workspace(tmp_path / "gone"), store=store)
    assert caught.value.id == "workspaces:platform:files-missing"


def test_a_file_shrinking_during_every_attempt_fails_as_busy(tmp_path, store, monkeypatch):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "growing.log").write_text("x" * 100)

    real_fstat = os.fstat

    def lying_fstat(fd):  # the size read first, then the file is truncated: as a terminal writing it would
        st = real_fstat(fd)
        return os.stat_result((*st[:6], st.st_size + 10, *st[7:])) if stat.S_ISREG(st.st_mode) else st

    monkeypatch.setattr(snapshots.os, "fstat", lying_fstat)
    with pytest.raises(PyrunError) as caught:
        create_snapshot(workspace(root), store=store)
    assert caught.value.id == "job:user:workspace-busy"
    assert store.puts == 0


def test_folders_nested_too_deep_are_left_out(tmp_path, store, monkeypatch):
    monkeypatch.setattr(snapshots, "MAX_DEPTH", 3)
    root = tmp_path / "ws"
    (root / "a" / "b" / "c" / "d").mkdir(parents=True)
    (root / "a" / "b" / "c" / "d" / "deep.py").write_text("x")
    (root / "a" / "b" / "c" / "ok.py").write_text("x")
    snapshot = take_snapshot(workspace(root), store=store)
    assert snapshot.skipped == ["a/b/c/d (nested deeper than 3 folders)"]
    assert snapshot.files == 1


def test_restore_needs_an_empty_destination(tmp_path, store):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("a")
    digest = create_snapshot(workspace(root), store=store)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "existing").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        restore_snapshot(digest, dest, store=store)


def test_a_missing_or_damaged_object_is_refused(tmp_path, store):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("a")
    digest = create_snapshot(workspace(root), store=store)
    with pytest.raises(PyrunError) as caught:
        restore_snapshot("0" * 64, tmp_path / "d1", store=store)
    assert caught.value.id == "job:platform:snapshot-missing"
    stored = store.path(digest)
    damaged = bytearray(stored.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    stored.write_bytes(bytes(damaged))
    with pytest.raises(PyrunError) as caught:
        restore_snapshot(digest, tmp_path / "d2", store=store)
    assert caught.value.id == "job:platform:snapshot-corrupt"
    assert not (tmp_path / "d2").exists() or not any((tmp_path / "d2").iterdir())


# --- Hostile archives ---------------------------------------------------------------------------------------------


def hostile(*members: tuple[str, str, str | bytes]) -> bytes:
    """A .tar.gz of ``(kind, name, content or link target)`` members, in that order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for kind, name, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = value.encode() if isinstance(value, str) else value
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
                "chardev": tarfile.CHRTYPE,
            }[kind]
            info.linkname = value if kind in ("symlink", "hardlink") else ""
            tar.addfile(info)
    return buffer.getvalue()


HOSTILE = {
    "absolute": [("file", "/tmp/pyrun-evil", "x")],
    "dot-dot": [("file", "../outside/evil", "x")],
    "dot-dot-inside": [("dir", "a", ""), ("file", "a/../../outside/evil", "x")],
    "absolute-link": [("symlink", "etc", "/etc")],
    "link-then-write-through": [("symlink", "l", "../outside"), ("file", "l/evil", "x")],
    "inside-link-then-write-through": [("dir", "d", ""), ("symlink", "l", "d"), ("file", "l/evil", "x")],
    "relative-escape-link": [("symlink", "l", "../outside/evil")],
    "chained-escape-link": [("dir", "a", ""), ("symlink", "a/up", ".."), ("symlink", "a/l", "up/../outside")],
    "hardlink": [("file", "f", "x"), ("hardlink", "h", "/etc/passwd")],
    "fifo": [("fifo", "p", "")],
    "device": [("chardev", "null", "")],
    "duplicate": [("file", "f", "x"), ("file", "f", "y")],
    "below-a-file": [("file", "f", "x"), ("file", "f/g", "y")],
    "empty-name-part": [("file", "a//b", "x")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_cannot_escape(tmp_path, case):
    archive = tmp_path / "hostile.tar.gz"
    archive.write_bytes(hostile(*HOSTILE[case]))
    dest = tmp_path / "box" / "dest"
    with pytest.raises(PyrunError) as caught:
        extract_archive(archive, dest)
    assert caught.value.id == "job:platform:snapshot-corrupt"
    # Every member is checked before anything is written.
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "box" / "outside").exists()
    assert not Path("/tmp/pyrun-evil").exists()


def test_a_hostile_archive_under_its_true_digest_is_still_refused(tmp_path, store):
    archive = tmp_path / "hostile.tar.gz"
    archive.write_bytes(hostile(("symlink", "l", "../outside"), ("file", "l/evil", "x")))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    store.put_file(digest, archive)
    with pytest.raises(PyrunError) as caught:
        restore_snapshot(digest, tmp_path / "dest", store=store)
    assert caught.value.id == "job:platform:snapshot-corrupt"
    assert not (tmp_path / "outside").exists()


def test_a_truncated_archive_is_refused(tmp_path):
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(hostile(("file", "f", os.urandom(100_000)))[:2000])
    with pytest.raises(PyrunError) as caught:
        extract_archive(archive, tmp_path / "dest")
    assert caught.value.id == "job:platform:snapshot-corrupt"


# --- Object stores ------------------------------------------------------------------------------------------------


def test_local_store_round_trip(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    key = hashlib.sha256(b"payload").hexdigest()
    source = tmp_path / "payload"
    source.write_bytes(b"payload")
    assert not store.exists(key)
    store.put_file(key, source)
    assert store.exists(key)
    store.get_file(key, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == b"payload"
    store.delete(key)
    store.delete(key)  # idempotent
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound):
        store.get_file(key, tmp_path / "again")
    assert not list(tmp_path.glob(".again.*"))
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd")


def test_the_store_follows_the_setting(settings, tmp_path):
    settings.PYRUN_OBJECT_STORE_URL = ""
    store = get_object_store()
    assert isinstance(store, LocalObjectStore) and store.root == settings.ARTIFACTS_ROOT / "objects"
    settings.PYRUN_OBJECT_STORE_URL = f"file://{tmp_path}/shared"
    assert get_object_store().root == tmp_path / "shared"
    settings.PYRUN_OBJECT_STORE_URL = "s3://bucket/some/prefix/"
    s3 = get_object_store()
    assert isinstance(s3, S3ObjectStore) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix")
    for bad in ("ftp://host/x", "s3:///no-bucket", "file://host/path", "/plain/path"):
        with pytest.raises(ImproperlyConfigured):
            get_object_store(bad)


@pytest.fixture
def moto(aws_mock):
    make_bucket(BUCKET)
    yield


def test_s3_store_round_trips_a_snapshot(moto, tmp_path, settings):
    settings.PYRUN_OBJECT_STORE_URL = f"s3://{BUCKET}/pyrun/objects"
    store = get_object_store()
    root = tmp_path / "ws"
    root.mkdir()
    make_tree(root)
    digest = create_snapshot(workspace(root))  # the default store: the setting's
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"pyrun/objects/{digest[:2]}/{digest[2:4]}/{digest}"]
    assert store.exists(digest)
    dest = tmp_path / "restored"
    restore_snapshot(digest, dest)
    assert listing(dest) == listing(root)
    store.delete(digest)
    assert not store.exists(digest)
    with pytest.raises(PyrunError) as caught:
        restore_snapshot(digest, tmp_path / "again")
    assert caught.value.id == "job:platform:snapshot-missing"


def test_s3_store_errors_are_platform_errors(moto, tmp_path):
    store = S3ObjectStore("no-such-bucket", "x", boto3.Session())
    source = tmp_path / "payload"
    source.write_bytes(b"payload")
    with pytest.raises(PyrunError) as caught:
        store.put_file("a" * 64, source)
    assert caught.value.id == "objects:platform:store-failed"
    assert "s3://no-such-bucket/x/aa/aa/" in caught.value.message
