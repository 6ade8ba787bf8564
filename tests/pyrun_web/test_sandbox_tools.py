"""SandboxSpec.tools: small executables placed read-only at the sandbox's own TOOLS_DIR, on the host's root and on
an image's root alike, naming no host folder (the terminal's pip shim is one)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pyrun_web import sandbox

pytestmark = pytest.mark.skipif(sandbox.bwrap_executable() is None, reason="bwrap (Debian bubblewrap) not installed")

TOOL = b"#!/bin/sh\necho tool says $1\n"
CHECK = (
    "hello hi; command -v hello; touch /opt/pyrun/bin/hello 2>/dev/null || echo read-only; "
    "touch /opt/pyrun/bin/new 2>/dev/null || echo no-new-files"
)


def run(spec: sandbox.SandboxSpec) -> str:
    process = sandbox.popen(spec, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = process.communicate(timeout=60)[0]
    assert process.returncode == 0, out
    return out


def test_tools_are_executable_and_read_only_on_the_host_root(tmp_path):
    spec = sandbox.SandboxSpec(
        argv=["/bin/sh", "-c", CHECK],
        workdir=tmp_path,
        tools={"hello": TOOL},
        env={"PATH": f"{sandbox.TOOLS_DIR}:{sandbox.SYSTEM_PATH}"},
    )
    assert run(spec) == "tool says hi\n/opt/pyrun/bin/hello\nread-only\nno-new-files\n"


def test_tools_on_an_image_root(tmp_path):
    root = tmp_path / "rootfs"
    (root / "opt/vendor").mkdir(parents=True)  # an image's own /opt stays visible next to the tools
    (root / "opt/vendor/marker").write_text("image")
    for name in ("bin", "lib", "lib64"):
        (root / name).symlink_to(f"usr/{name}")
    work = tmp_path / "work"
    work.mkdir()
    spec = sandbox.SandboxSpec(
        argv=["/usr/bin/sh", "-c", f"{CHECK}; cat /opt/vendor/marker"],
        workdir=work,
        runtime_prefixes=[],
        root=root,
        ro_binds=[Path("/usr")],
        tools={"hello": TOOL},
        env={"PATH": f"{sandbox.TOOLS_DIR}:{sandbox.SYSTEM_PATH}"},
    )
    assert run(spec) == "tool says hi\n/opt/pyrun/bin/hello\nread-only\nno-new-files\nimage"


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".."])
def test_a_tool_name_is_a_plain_file_name(tmp_path, name):
    with pytest.raises(ValueError):
        sandbox.build_argv(sandbox.SandboxSpec(argv=["true"], workdir=tmp_path, tools={name: TOOL}))
