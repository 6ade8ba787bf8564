"""A hostile package: an sdist whose build backend hunts for the platform's secrets, reads the data dir and
writes into the caches of other orgs and the host. Built by the real uv builder, it sees and changes nothing."""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from runtimes import services
from runtimes.builders.isolation import org_cache_dir
from runtimes.models import Runtime
from runtimes.spec import parse_environment
from tests.security.sandboxes import needs_bwrap
from tests.tenants import TenantTest

pytestmark = [pytest.mark.slow, needs_bwrap]

SECRET = "pyrun-test-secret-" + uuid.uuid4().hex

# An in-tree PEP 517 backend: no setuptools to download, and its build_wheel is the attack.
BACKEND = """
import base64, glob, hashlib, json, os, zipfile

TARGETS = json.loads(%(targets)r)


def _probe():
    report = {"secret_seen": False, "visible": {}, "written": {}}
    for path in glob.glob("/proc/*/environ"):
        try:
            if TARGETS["secret"].encode() in open(path, "rb").read():
                report["secret_seen"] = True
        except OSError:
            pass
    for name, path in TARGETS["look"].items():
        report["visible"][name] = os.path.exists(path)
    for name, path in TARGETS["write"].items():
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("poisoned")
            report["written"][name] = True
        except OSError:
            report["written"][name] = False
    return report


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    report = _probe()
    name = "evil_probe-1.0-py3-none-any.whl"
    files = {
        "evil_probe/__init__.py": "REPORT = " + repr(json.dumps(report)) + "\\n",
        "evil_probe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: evil-probe\\nVersion: 1.0\\n",
        "evil_probe-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\\nGenerator: evil\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        ),
    }
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, text in files.items():
            data = text.encode()
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append("evil_probe-1.0.dist-info/RECORD,,")
        wheel.writestr("evil_probe-1.0.dist-info/RECORD", "\\n".join(record) + "\\n")
    return name
"""

PYPROJECT = """[project]
name = "evil-probe"
version = "1.0"

[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
"""


def write_sdist(folder: Path, targets: dict) -> None:
    files = {
        "evil_probe-1.0/pyproject.toml": PYPROJECT,
        "evil_probe-1.0/backend.py": BACKEND % {"targets": json.dumps(targets)},
        "evil_probe-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: evil-probe\nVersion: 1.0\n",
    }
    with tarfile.open(folder / "evil_probe-1.0.tar.gz", "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


class TestHostileSdist(TenantTest):
    def test_the_build_backend_sees_no_secret_no_data_and_poisons_no_cache(self, inline_builds, tmp_path, monkeypatch):
        monkeypatch.setenv("PYRUN_TEST_SECRET", SECRET)  # in the building process's environment
        other_cache = org_cache_dir("uv", self.t.other_org.pk)
        host_marker = Path("/tmp") / f"pyrun-evil-{uuid.uuid4().hex}"
        rattler = Path(settings.RUNTIMES_ROOT) / ".cache" / "rattler" / "pkgs" / f"org-{self.t.other_org.pk}"
        targets = {
            "secret": SECRET,
            # (bwrap makes the folders leading to the build's own binds: the data dir's path exists, empty)
            "look": {
                "secrets": str(Path(settings.DATA_DIR) / "secrets"),
                "database": str(settings.DATABASES["default"].get("NAME", "")),
                "workspaces": str(settings.WORKSPACES_ROOT),
                "other_org_uv_cache": str(other_cache),
            },
            "write": {
                "other_org_uv_cache": str(other_cache / "poison"),
                "other_org_rattler_cache": str(rattler / "poison"),
                "host_tmp": str(host_marker),
            },
        }
        links = tmp_path / "links"
        links.mkdir()
        write_sdist(links, targets)
        monkeypatch.setenv("UV_FIND_LINKS", str(links))

        spec = parse_environment("dependencies:\n  - python=3.11\n  - pip:\n      - evil-probe==1.0\n")
        runtime = services.ensure_runtime(self.t.org, spec, "local", self.t.member)
        runtime.refresh_from_db()

        assert runtime.state == Runtime.State.READY, runtime.error_message
        init = next(Path(runtime.prefix).glob("lib/python*/site-packages/evil_probe/__init__.py"))
        namespace: dict = {}
        exec(init.read_text(), namespace)  # noqa: S102 (our own report, written by the test's backend)
        report = json.loads(namespace["REPORT"])
        assert report["secret_seen"] is False
        assert not any(report["visible"].values()), report
        # Whatever it believes it wrote (a data dir below /tmp lands in the sandbox's private /tmp), the host's
        # files are untouched:
        assert not (other_cache / "poison").exists() and not (rattler / "poison").exists()
        assert not host_marker.exists()
        assert os.environ["PYRUN_TEST_SECRET"] == SECRET  # the secret was there to be found
