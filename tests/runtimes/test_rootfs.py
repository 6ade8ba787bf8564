"""An image's filesystem unpacked for jobs: hostile archives stay in their directory, and the sandbox rebuilds it
as a read-only root with room for its own mounts."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from pyrun_web import sandbox
from runtimes.rootfs import extract_stream, resolve_in_root


def archive(*members: tuple[tarfile.TarInfo, bytes | None]) -> io.BytesIO:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for info, content in members:
            if content is not None:
                info.size = len(content)
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    data.seek(0)
    return data


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, mode
    return info


def bwrap_ops(argv: list[str]) -> list[tuple[str, ...]]:
    """``argv`` as (option, arguments...) tuples: --dir takes one argument, the binds and --symlink two."""
    ops, i = [], 0
    while i < len(argv):
        width = 2 if argv[i] == "--dir" else 3
        ops.append(tuple(argv[i : i + width]))
        i += width
    return ops


def test_an_archive_cannot_write_or_link_outside_its_directory(tmp_path):
    outside = tmp_path / "host-secret"
    outside.write_text("platform secret")
    dest = tmp_path / "rootfs"
    dest.mkdir()
    stream = archive(
        (entry("usr/bin/tool", mode=0o4755), b"#!/bin/sh\n"),  # setuid: dropped
        (entry("../escaped"), b"x"),  # outside through ..
        (entry("/etc/absolute"), b"kept inside"),  # a leading / is stripped
        (entry("etc/link", tarfile.SYMTYPE, linkname=str(tmp_path)), None),  # a symlink out: kept as a link...
        (entry("etc/link/written-through"), b"x"),  # ...but nothing is written through it
        (entry("etc/hard", tarfile.LNKTYPE, linkname=str(outside)), None),  # a hard link to a host file
        (entry("etc/hard2", tarfile.LNKTYPE, linkname="../host-secret"), None),
        (entry("dev/null", tarfile.CHRTYPE), None),  # device nodes and fifos: the sandbox has its own /dev
        (entry("fifo", tarfile.FIFOTYPE), None),
        (entry("proc/self"), b"x"),
        (entry("usr/bin/same", tarfile.LNKTYPE, linkname="usr/bin/tool", mode=0o4755), None),  # inside: fine
    )

    extract_stream(stream, dest)

    assert not (tmp_path / "escaped").exists()
    assert (dest / "etc/absolute").read_text() == "kept inside"
    assert (dest / "etc/link").is_symlink() and not (tmp_path / "written-through").exists()
    assert not (dest / "etc/hard").exists() and not (dest / "etc/hard2").exists()
    assert outside.stat().st_nlink == 1
    assert not (dest / "dev/null").exists() and not (dest / "fifo").exists() and not (dest / "proc/self").exists()
    assert (dest / "usr/bin/tool").stat().st_mode & 0o7777 == 0o755
    assert (dest / "usr/bin/same").samefile(dest / "usr/bin/tool")


def test_paths_resolve_inside_the_root_as_the_sandbox_sees_them(tmp_path):
    root = tmp_path / "rootfs"
    (root / "opt/miniconda3/bin").mkdir(parents=True)
    (root / "opt/miniconda3/bin/python3.12").write_text("")
    (root / "opt/miniconda3/bin/python").symlink_to("python3.12")
    (root / "opt/conda").symlink_to("/opt/miniconda3")  # absolute: on the host it would point elsewhere
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/loop").symlink_to("/usr/bin/loop")
    (root / "usr/bin/escape").symlink_to("../../../../etc/passwd")

    assert resolve_in_root(root, "/opt/conda/bin/python") == root / "opt/miniconda3/bin/python3.12"
    assert resolve_in_root(root, "/opt/conda/bin/missing") is None
    assert resolve_in_root(root, "/usr/bin/loop") is None
    assert resolve_in_root(root, "/usr/bin/escape") is None  # ".." stops at the root, where etc/passwd is not


def test_root_binds_leave_the_sandboxs_mount_points_free(tmp_path):
    root = tmp_path / "rootfs"
    for rel in ("usr/bin", "etc", "root/.cache", "home/user", "tmp", "proc"):
        (root / rel).mkdir(parents=True)
    (root / "etc/hosts").write_text("image hosts")
    (root / "etc/os-release").write_text("ID=image")
    (root / "bin").symlink_to("usr/bin")

    argv = sandbox.root_binds(root, ["/proc", "/tmp", "/home/pyrun", "/etc/hosts", "/root/data/agent"])

    ops = bwrap_ops(argv)
    assert ("--symlink", "usr/bin", "/bin") in ops
    assert ("--ro-bind", str(root / "usr"), "/usr") in ops  # no mount point below: one bind
    assert ("--ro-bind", str(root / "etc/os-release"), "/etc/os-release") in ops
    assert {("--dir", "/etc"), ("--dir", "/home"), ("--dir", "/root")} <= set(ops)
    assert str(root / "etc/hosts") not in argv  # the host's goes there
    assert str(root / "tmp") not in argv and str(root / "proc") not in argv  # the sandbox mounts its own
    assert ("--ro-bind", str(root / "home/user"), "/home/user") in ops
    assert ("--ro-bind", str(root / "root/.cache"), "/root/.cache") in ops


@pytest.mark.skipif(sandbox.bwrap_executable() is None, reason="needs bwrap (Debian package bubblewrap)")
def test_a_sandbox_on_an_image_root_sees_the_image_not_the_host(tmp_path):
    """A root made from the host's own /usr with an image marker: the job sees the marker, the host's name
    resolution and nothing of the host's /root or /etc, and cannot write anywhere but its workspace and /tmp."""
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/image-marker").write_text("from the image")
    for name in ("bin", "lib", "lib64"):  # merged /usr, as on Debian
        (root / name).symlink_to(f"usr/{name}")
    work = tmp_path / "work"
    work.mkdir()
    spec = sandbox.SandboxSpec(
        argv=["/usr/bin/sh", "-c", "ls /; cat /etc/image-marker; ls /etc; touch /etc/x || echo read-only"],
        workdir=work,
        runtime_prefixes=[],
        root=root,
        ro_binds=[Path("/usr")],  # the binaries the test runs, bound the way the agent is
    )
    process = sandbox.popen(spec, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = process.communicate(timeout=30)[0]

    assert process.returncode == 0, out
    assert "from the image" in out
    assert "read-only" in out
    listed = set(out.split())
    assert {"image-marker", "resolv.conf"} <= listed
    assert "passwd" not in listed and "shadow" not in listed  # no host /etc beyond name resolution
    assert "root" not in listed  # nothing of the host's home directories
