"""Make tiny real conda channels on disk (conda-forge is unreachable from the test machines).

A ``.tar.bz2`` conda package is a tarball of its payload plus ``info/index.json``, ``info/paths.json`` and
``info/files``; ``rattler.index.index_fs`` then writes the channel's ``repodata.json``. Other tests reuse
``make_channel`` with their own ``CondaPackage`` list, or ``demo_packages()``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import sys
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import rattler
from rattler.platform import Subdir

HELLO_GREETING = "hi"
DATA_MESSAGE = "hello from pyrun-data"


@dataclass(frozen=True)
class CondaPackage:
    name: str
    version: str = "1.0"
    build: str = "0"
    build_number: int = 0
    subdir: str = "noarch"
    noarch: str | None = "generic"  # "python", "generic", or None for a platform package
    depends: tuple[str, ...] = ()
    files: dict[str, str | bytes] = field(default_factory=dict)  # payload path -> content
    symlinks: dict[str, str] = field(default_factory=dict)  # payload path -> link target

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.build}.tar.bz2"


def make_channel(root: Path, packages: Iterable[CondaPackage]) -> Path:
    """Write ``packages`` into the channel folder ``root`` and index it; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "noarch").mkdir(exist_ok=True)  # a channel always has noarch, even when empty
    (root / str(Subdir.current())).mkdir(exist_ok=True)
    for package in packages:
        write_package(root / package.subdir, package)
    asyncio.run(rattler.index.index_fs(root, write_zst=False, write_shards=False, force=True))
    return root


def write_package(directory: Path, package: CondaPackage) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / package.filename
    payload = {
        name: content.encode() if isinstance(content, str) else content for name, content in package.files.items()
    }
    index = {
        "name": package.name,
        "version": package.version,
        "build": package.build,
        "build_number": package.build_number,
        "depends": list(package.depends),
        "subdir": package.subdir,
        "license": "MIT",
    }
    if package.noarch:
        index["noarch"] = package.noarch
    else:
        platform, _, arch = package.subdir.partition("-")
        index.update(platform=platform, arch={"64": "x86_64"}.get(arch, arch))
    paths = [
        {"_path": name, "path_type": "hardlink", "sha256": hashlib.sha256(data).hexdigest(), "size_in_bytes": len(data)}
        for name, data in sorted(payload.items())
    ] + [{"_path": name, "path_type": "softlink"} for name in sorted(package.symlinks)]
    info = {
        "info/index.json": json.dumps(index, indent=2).encode(),
        "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}, indent=2).encode(),
        "info/files": "".join(f"{entry['_path']}\n" for entry in paths).encode(),
    }
    if package.noarch == "python":
        info["info/link.json"] = json.dumps({"noarch": {"type": "python"}, "package_metadata_version": 1}).encode()
    with tarfile.open(path, "w:bz2") as tar:
        for name, data in {**info, **payload}.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            entry.mode = 0o755 if name.startswith("bin/") else 0o644
            tar.addfile(entry, io.BytesIO(data))
        for name, target in package.symlinks.items():
            entry = tarfile.TarInfo(name)
            entry.type = tarfile.SYMTYPE
            entry.linkname = target
            tar.addfile(entry)
    return path


def demo_packages() -> list[CondaPackage]:
    """``pyrun-hello`` (noarch: python, ``GREETING = "hi"``) needing ``pyrun-data`` (noarch: generic, one data
    file) and, like every real noarch python package, ``python``; ``pyrun-legacy`` wants python 2."""
    return [
        CondaPackage(
            "pyrun-hello",
            version="1.2.0",
            build="py_0",
            noarch="python",
            depends=("python >=3.8", "pyrun-data >=0.1"),
            files={
                "site-packages/pyrun_hello/__init__.py": (
                    f"import sys\nfrom pathlib import Path\n\nGREETING = {HELLO_GREETING!r}\n\n\n"
                    "def message() -> str:\n"
                    "    return (Path(sys.prefix) / 'share' / 'pyrun-data' / 'message.txt').read_text().strip()\n"
                )
            },
        ),
        CondaPackage("pyrun-data", version="0.1.0", files={"share/pyrun-data/message.txt": DATA_MESSAGE + "\n"}),
        CondaPackage(
            "pyrun-legacy",
            version="0.9",
            build="py_0",
            noarch="python",
            depends=("python <3",),
            files={"site-packages/pyrun_legacy.py": "print 'python 2 only'\n"},
        ),
    ]


def venv_python_package(interpreter: Path, version: str) -> CondaPackage:
    """A ``python`` package for the current platform that makes its prefix a venv of ``interpreter``.

    A real CPython conda package is tens of MB and not reachable here; this one is a stand-in that still
    behaves like conda's python for the builder: ``<prefix>/bin/python`` runs with ``<prefix>`` as
    ``sys.prefix`` and ``<prefix>/lib/pythonX.Y/site-packages`` on ``sys.path``.
    """
    short = ".".join(version.split(".")[:2])
    home = interpreter.resolve().parent
    return CondaPackage(
        "python",
        version=version,
        build="pyrun_venv_0",
        subdir=str(Subdir.current()),
        noarch=None,
        files={"pyvenv.cfg": f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n"},
        symlinks={"bin/python": str(interpreter.resolve()), f"bin/python{short}": "python", "bin/python3": "python"},
    )


def host_interpreter(short_version: str) -> Path:
    """A host CPython of that minor version (pyenv), or the one running the tests if it matches."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == short_version:
        return Path(sys.base_prefix) / "bin" / f"python{short_version}"
    for candidate in sorted(Path("/root/.pyenv/versions").glob(f"{short_version}.*"), reverse=True):
        if (candidate / "bin" / f"python{short_version}").exists():
            return candidate / "bin" / f"python{short_version}"
    raise LookupError(f"no host python {short_version}")
