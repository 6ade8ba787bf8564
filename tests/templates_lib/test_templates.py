"""Templates: listed by the API, copied into new workspaces, and their examples really run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from rest_framework.test import APIClient

from jobs.backends.lithops_config import build_lithops_config
from templates_lib.registry import TEMPLATES
from tests.tenants import TenantTest
from workspaces.models import Workspace


class TestTemplatesApi(TenantTest):
    def test_any_member_lists_the_templates_with_their_files(self):
        response = self.api("viewer").get("/api/v1/templates/")
        assert response.status_code == 200
        listed = {t["slug"]: t for t in response.json()["results"]}
        assert set(listed) >= {"python", "lithops", "dask", "empty"}
        assert listed["lithops"]["files"] == [".pyrun/environment.yml", "example.py"]
        assert listed["lithops"]["entrypoint"] == "example.py"
        assert (listed["lithops"]["default_backend"], listed["dask"]["default_backend"]) == (None, "dask-local")
        assert listed["empty"]["files"] == []

    def test_one_template_reads_by_slug(self):
        assert self.api("member").get("/api/v1/templates/dask/").json()["name"] == "Dask"
        assert self.api("member").get("/api/v1/templates/cobol/").status_code == 404

    def test_templates_need_authentication(self):
        assert APIClient().get("/api/v1/templates/").status_code == 401

    @pytest.mark.parametrize(("slug", "backend"), [("dask", "dask-local"), ("lithops", "lithops-localhost")])
    def test_a_workspace_created_from_a_template_runs_on_its_backend(self, slug, backend):
        created = self.api("member").post("/api/v1/workspaces/", {"name": slug, "template": slug}).json()
        config = self.api("member").get(f"/api/v1/workspaces/{created['id']}/config/").json()
        assert config["default_executor"] == backend

    @pytest.mark.parametrize("slug", sorted(TEMPLATES))
    def test_a_workspace_created_from_a_template_holds_its_files(self, slug):
        created = self.api("member").post("/api/v1/workspaces/", {"name": f"From {slug}", "template": slug}).json()
        tree = self.api("member").get(f"/api/v1/workspaces/{created['id']}/files/").json()
        files = sorted(e["path"] for e in tree["entries"] if e["type"] == "file")
        assert files == TEMPLATES[slug].files()
        for rel in files:
            body = self.api("member").get(f"/api/v1/workspaces/{created['id']}/files/{rel}")
            assert b"".join(body.streaming_content) == (TEMPLATES[slug].folder / rel).read_bytes()


@pytest.mark.parametrize("slug", ["python", "lithops", "dask"])
def test_every_file_welcomes_and_explains_packages_and_rebuild(slug):
    for rel in TEMPLATES[slug].files():
        head = (TEMPLATES[slug].folder / rel).read_text().split("\n\n")[0]
        assert "environment.yml" in head or rel.endswith("environment.yml"), rel
        assert "pip:" in head and "rebuild" in head, rel


@pytest.mark.parametrize(("slug", "pip"), [("lithops", ["$LITHOPS"]), ("dask", ["dask[distributed]"])])
def test_environment_files_pin_python_311_and_list_pip_packages(slug, pip):
    env = yaml.safe_load((TEMPLATES[slug].folder / ".pyrun" / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert {"pip": pip} in env["dependencies"]


def test_packaging_ships_the_template_folders_with_their_hidden_files():
    """setuptools globs skip dot-folders unless named; `.pyrun/environment.yml` must reach the wheel."""
    import glob

    root = Path(__file__).resolve().parents[2]
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data.get("templates_lib", []) + package_data.get("*", [])
    shipped = {
        Path(p).relative_to(root / "templates_lib").as_posix()
        for pattern in patterns
        for p in glob.glob(str(root / "templates_lib" / pattern), recursive=True)
        if os.path.isfile(p)
    }
    for template in TEMPLATES.values():
        assert {f"templates/{template.slug}/{rel}" for rel in template.files()} <= shipped


def run_example(tmp_path: Path, slug: str, env: dict[str, str] | None = None) -> str:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    TEMPLATES[slug].copy_into(workspace)
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run(
        [sys.executable, TEMPLATES[slug].entrypoint],
        cwd=workspace,
        env={"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(tmp_path), **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_the_lithops_example_runs_with_the_generated_local_config(tmp_path):
    config = build_lithops_config({}, runtime_python=sys.executable)
    out = run_example(tmp_path, "lithops", {"LITHOPS_CONFIG": json.dumps(config)})
    assert "squares: [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" in out
    assert "sum: 285" in out


@pytest.mark.slow
def test_the_dask_example_runs_a_local_cluster(tmp_path):
    out = run_example(tmp_path, "dask")
    assert "incremented: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" in out
    assert "total: 55" in out


def test_the_python_example_runs(tmp_path):
    assert run_example(tmp_path, "python").startswith("Hello, PyRun!")


def test_workspace_files_are_not_linked_to_the_template(tmp_path, tenants):
    from workspaces.services import create_workspace

    workspace: Workspace = create_workspace(org=tenants.org, user=tenants.member, name="W", template="python")
    (workspace.path / "main.py").write_text("changed")
    assert "Hello" in (TEMPLATES["python"].folder / "main.py").read_text()
