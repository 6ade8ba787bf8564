"""Pipelines without a worker: the list and its shape, launch (a workspace holding the pipeline and a queued run
with the parameters as options), refused launches that leave nothing behind, roles and orgs; and the library
itself (every pipeline has its code, runtime, README and manifest, and its script's options are the manifest's; the
Lithops ones share one runtime); a manifest that cannot serve is refused at load, saying why."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from rest_framework.test import APIClient

from jobs.models import Job
from pipelines.registry import LIBRARY_DIR, PIPELINES, SHARED_FILES, ManifestError, Parameter, load_pipeline
from tests.tenants import TenantTest
from workspaces.models import Workspace

LAUNCH = "/api/v1/pipelines/{}/launch/"


class TestPipelineList(TenantTest):
    def test_any_member_lists_every_pipeline_with_its_parameters(self):
        response = self.api("viewer").get("/api/v1/pipelines/")
        assert response.status_code == 200
        listed = {p["slug"]: p for p in response.json()["results"]}
        assert set(listed) == {"flops", "terasort", "montecarlo", "dask-analytics", "wordcount"}
        flops = listed["flops"]
        assert flops["framework"] == "lithops" and flops["backend"] == "lithops-localhost"
        assert flops["entrypoint"] == "flops.py" and flops["expected_seconds"] > 0
        assert flops["title"] and flops["description"]
        tasks = next(p for p in flops["parameters"] if p["name"] == "tasks")
        assert (tasks["type"], tasks["default"], tasks["min"]) == ("int", 4, 1) and tasks["help"]
        assert listed["dask-analytics"]["framework"] == "dask"
        assert listed["dask-analytics"]["backend"] == "dask-local"
        fmt = next(p for p in listed["dask-analytics"]["parameters"] if p["name"] == "format")
        assert fmt["choices"] == ["parquet", "csv"]
        assert {"README.md", ".pyrun/environment.yml", "pipeline.toml", "pipeline_options.py"} <= set(flops["files"])

    def test_one_pipeline_reads_by_slug_and_an_unknown_one_is_404(self):
        assert self.api("member").get("/api/v1/pipelines/terasort/").json()["title"] == "TeraSort"
        missing = self.api("member").get("/api/v1/pipelines/cobol/")
        assert missing.status_code == 404 and missing.json()["error"]["id"] == "api:user:not-found"
        assert self.api("member").post(LAUNCH.format("cobol"), {}).status_code == 404

    def test_pipelines_need_authentication(self):
        assert APIClient().get("/api/v1/pipelines/").status_code == 401
        assert APIClient().post(LAUNCH.format("flops"), {}).status_code == 401


class TestLaunch(TenantTest):
    def test_a_member_launches_a_workspace_and_a_queued_run_with_the_parameters_as_options(self):
        response = self.api("member").post(LAUNCH.format("flops"), {"parameters": {"tasks": 8, "size": 200}})
        assert response.status_code == 201, response.content
        body = response.json()
        workspace, job = body["workspace"], body["job"]
        assert (workspace["name"], workspace["slug"], workspace["template"]) == ("FLOPS", "flops", "pipeline:flops")
        assert workspace["created_by"] == "member@example.com" and workspace["size"] > 0
        assert job["state"] == "queued" and job["workspace"] == workspace["id"]
        assert job["entrypoint"] == "flops.py" and job["backend"] == "lithops-localhost"
        assert job["args"] == ["--tasks", "8", "--size", "200", "--loops", "3", "--seed", "1"]
        stored = Workspace.objects.get(pk=workspace["id"])
        assert stored.org == self.t.org
        files = sorted(str(p.relative_to(stored.path)) for p in stored.path.rglob("*") if p.is_file())
        assert files == PIPELINES["flops"].files()
        # The same shapes as the workspaces and jobs APIs return.
        assert self.api("viewer").get(f"/api/v1/workspaces/{workspace['id']}/").json() == workspace
        assert self.api("viewer").get(f"/api/v1/jobs/{job['id']}/").json() == job

    def test_name_bools_strings_and_backend(self):
        body = {
            "name": "My sort",
            "parameters": {"records": 500, "keep_output": True},
            "backend": "lithops-localhost",
            "org": self.t.org.slug,
        }
        launched = self.api("member").post(LAUNCH.format("terasort"), body, format="json").json()
        assert launched["workspace"]["name"] == "My sort"
        assert launched["job"]["args"] == [
            "--records", "500", "--partitions", "4", "--reducers", "4", "--seed", "42", "--keep-output",
        ]  # fmt: skip
        words = self.api("member").post(
            LAUNCH.format("wordcount"), {"parameters": {"corpus": "-odd name.txt"}, "org": self.t.org.pk}, format="json"
        )
        assert words.status_code == 201, words.content
        assert words.json()["job"]["args"][:1] == ["--corpus=-odd name.txt"]  # not read as an option

    def test_dask_pipeline_runs_on_dask_local_and_so_does_its_run_button(self):
        launched = self.api("member").post(LAUNCH.format("dask-analytics"), {}).json()
        assert launched["job"]["backend"] == "dask-local"
        config = self.api("member").get(f"/api/v1/workspaces/{launched['workspace']['id']}/config/").json()
        assert config["default_executor"] == "dask-local"

    def test_launching_twice_makes_two_workspaces(self):
        first = self.api("member").post(LAUNCH.format("montecarlo"), {}).json()
        second = self.api("admin").post(LAUNCH.format("montecarlo"), {}).json()
        assert (first["workspace"]["slug"], second["workspace"]["slug"]) == ("monte-carlo", "monte-carlo-2")

    def test_a_bad_parameter_is_a_400_and_leaves_nothing_behind(self):
        cases = [
            ({"tasks": "8"}, "'tasks': expected an integer"),
            ({"tasks": 2.5}, "'tasks': expected an integer"),
            ({"tasks": True}, "'tasks': expected an integer"),
            ({"tasks": 0}, "'tasks': at least 1"),
            ({"tasks": 10**9}, "'tasks': at most 1000"),
            ({"threads": 2}, "'threads': unknown; flops takes: tasks, size, loops, seed"),
        ]
        for parameters, needle in cases:
            response = self.api("member").post(LAUNCH.format("flops"), {"parameters": parameters}, format="json")
            assert response.status_code == 400, response.content
            error = response.json()["error"]
            assert error["id"] == "pipelines:user:bad-parameter"
            assert needle in error["message"], (needle, error)
        assert not Workspace.objects.exists() and not Job.objects.exists()

    def test_other_refusals(self):
        cases = [
            ("dask-analytics", {"parameters": {"format": "excel"}}, "pipelines:user:bad-parameter"),
            ("wordcount", {"parameters": {"include_stopwords": "yes"}}, "pipelines:user:bad-parameter"),
            ("flops", {"parameters": [1, 2]}, "api:user:invalid"),
            ("flops", {"backend": "dask-local"}, "pipelines:user:bad-backend"),
            ("dask-analytics", {"backend": "lithops-localhost"}, "pipelines:user:bad-backend"),
            ("flops", {"org": self.t.other_org.pk}, "pipelines:user:other-org"),
            ("flops", {"org": "globex"}, "pipelines:user:other-org"),
        ]
        for slug, body, error_id in cases:
            response = self.api("member").post(LAUNCH.format(slug), body, format="json")
            assert response.status_code == 400, (slug, body, response.content)
            assert response.json()["error"]["id"] == error_id, (slug, body, response.json())
        assert not Workspace.objects.exists() and not Job.objects.exists()

    def test_a_viewer_cannot_launch(self):
        response = self.api("viewer").post(LAUNCH.format("flops"), {})
        assert response.status_code == 403
        assert response.json()["error"]["id"] == "auth:user:role-required"
        assert not Workspace.objects.exists()

    def test_an_outsider_launches_in_their_own_org_only(self):
        launched = self.api("outsider").post(LAUNCH.format("flops"), {}).json()
        assert Workspace.objects.get(pk=launched["workspace"]["id"]).org == self.t.other_org
        assert self.api("member").get(f"/api/v1/workspaces/{launched['workspace']['id']}/").status_code == 404
        assert self.api("member").get(f"/api/v1/jobs/{launched['job']['id']}/").status_code == 404

    def test_a_failed_run_creation_removes_the_new_workspace_folder(self, monkeypatch, settings):
        from jobs import services as jobs

        def refuse(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(jobs, "create_run", refuse)
        before = set(settings.WORKSPACES_ROOT.iterdir()) if settings.WORKSPACES_ROOT.exists() else set()
        with pytest.raises(RuntimeError):
            from pipelines.services import launch

            launch(PIPELINES["flops"], org=self.t.org, user=self.t.member)
        after = set(settings.WORKSPACES_ROOT.iterdir()) if settings.WORKSPACES_ROOT.exists() else set()
        assert not Workspace.objects.exists()
        assert {p for p in after - before if p.name != ".locks"} == set()


class TestLibrary:
    @pytest.mark.parametrize("slug", sorted(PIPELINES))
    def test_every_pipeline_has_code_runtime_readme_and_its_options(self, slug):
        pipeline = PIPELINES[slug]
        files = pipeline.files()
        assert {pipeline.entrypoint, ".pyrun/environment.yml", "README.md", "pipeline.toml", *SHARED_FILES} <= set(
            files
        )
        code = (pipeline.folder / pipeline.entrypoint).read_text()
        readme = (pipeline.folder / "README.md").read_text()
        assert "argument_parser(__file__)" in code  # its options are its pipeline.toml's (see the next test)
        for parameter in pipeline.parameters:
            assert f"`{parameter.name}`" in readme, parameter.name
            if parameter.type == "bool":
                assert parameter.default is False, parameter.name  # a flag: absent means false
            else:
                assert parameter.clean(parameter.default) == parameter.default
        assert "results/" in code and 'matplotlib.use("Agg")' in code
        assert "AWS Lambda" in readme or "remote Dask" in readme
        assert pipeline.source.size() < 100 * 1024
        env = yaml.safe_load((pipeline.folder / ".pyrun" / "environment.yml").read_text())
        pins = [p for p in env["dependencies"][-1]["pip"] if p != "$LITHOPS"]
        assert pins and all(re.fullmatch(r"[\w.\[\],-]+==[\w.]+", p) for p in pins), pins

    def test_the_lithops_pipelines_share_one_environment_file(self):
        lithops = [p for p in PIPELINES.values() if p.framework == "lithops"]
        texts = {(p.folder / ".pyrun" / "environment.yml").read_text() for p in lithops}
        assert len(lithops) == 4 and len(texts) == 1
        assert "$LITHOPS" in texts.pop()

    def test_the_wordcount_corpus_is_small_public_domain_text(self):
        corpus = PIPELINES["wordcount"].folder / "data" / "corpus.txt"
        assert 5_000 < corpus.stat().st_size <= 50 * 1024
        assert "public domain" in corpus.read_text()

    def test_packaging_ships_the_pipeline_folders_with_their_hidden_files(self):
        """setuptools globs skip dot-folders unless named; `.pyrun/environment.yml` must reach the wheel."""
        root = Path(__file__).resolve().parents[2]
        package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
        patterns = package_data.get("pipelines", []) + package_data.get("*", [])
        shipped = {
            Path(p).relative_to(root / "pipelines").as_posix()
            for pattern in patterns
            for p in glob.glob(str(root / "pipelines" / pattern), recursive=True)
            if os.path.isfile(p)
        }
        for pipeline in PIPELINES.values():
            own = {f"library/{pipeline.slug}/{rel}" for rel in pipeline.files() if rel not in SHARED_FILES}
            assert own | {f"library/{name}" for name in SHARED_FILES} <= shipped

    @pytest.mark.parametrize("slug", sorted(PIPELINES))
    def test_the_script_options_read_back_what_a_launch_passes(self, slug):
        """The command line the scripts build from their manifest (library/pipeline_options.py, as copied into the
        workspace) parses the launch arguments into the launch values, and no argument into the defaults."""
        spec = importlib.util.spec_from_file_location("pipeline_options", LIBRARY_DIR / "pipeline_options.py")
        options = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(options)
        pipeline = PIPELINES[slug]
        parser = options.argument_parser(str(pipeline.folder / pipeline.entrypoint))
        defaults = pipeline.clean_parameters({})
        assert vars(parser.parse_args([])) == defaults
        assert vars(parser.parse_args(pipeline.args(defaults))) == defaults
        others = {p.name: _another_value(p) for p in pipeline.parameters}
        assert vars(parser.parse_args(pipeline.args(pipeline.clean_parameters(others)))) == others
        assert parser.description == pipeline.description

    def test_parameter_args(self):
        assert Parameter("x", "float", 0.5, "").args(0.25) == ["--x", "0.25"]
        assert Parameter("x", "float", 0.5, "").clean(2) == 2.0
        assert Parameter("dry_run", "bool", False, "").args(False) == []
        assert Parameter("n", "int", 1, "").args(-3) == ["--n=-3"]


def _another_value(parameter: Parameter):
    """A valid value of ``parameter`` other than its default."""
    if parameter.type == "bool":
        return not parameter.default
    if parameter.choices:
        return next(c for c in parameter.choices if c != parameter.default)
    if parameter.type == "str":
        return "-" + parameter.default  # an option-like value too
    return parameter.default + 1


DEMO = """\
title = "Demo"
description = "A demo."
framework = "lithops"
entrypoint = "demo.py"
expected_seconds = 5
parameters = [{ name = "tasks", type = "int", default = 4, min = 1, max = 10, help = "Tasks." }]
"""


class TestManifest:
    def load(self, tmp_path: Path, text: str):
        folder = tmp_path / "demo"
        folder.mkdir(parents=True)
        (folder / "demo.py").write_text("print('demo')\n")
        (folder / "pipeline.toml").write_text(text)
        return load_pipeline(folder)

    def test_a_manifest_declares_the_pipeline(self, tmp_path):
        pipeline = self.load(
            tmp_path, DEMO.replace("expected_seconds = 5", 'expected_seconds = 5\nbackend = "lithops-aws-lambda"')
        )
        assert (pipeline.slug, pipeline.title, pipeline.default_backend) == ("demo", "Demo", "lithops-aws-lambda")
        assert pipeline.parameters == (Parameter("tasks", "int", 4, "Tasks.", min=1, max=10),)
        assert pipeline.files() == ["demo.py", "pipeline.toml", *SHARED_FILES]

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (("title", "titel"), "demo/pipeline.toml: unknown key 'titel'"),
            (('description = "A demo."\n', ""), "demo/pipeline.toml: 'description' is missing"),
            (("= 5", '= "5"'), "'expected_seconds' must be of type int, not str"),
            (("= 5", "= 0"), "'expected_seconds' must be positive"),
            (('"lithops"', '"spark"'), "'framework' must be one of lithops, dask"),
            (("demo.py", "missing.py"), "'entrypoint' 'missing.py' is not a file of the folder"),
            (("default = 4", "default = 40"), "parameters[0] (tasks): the default is refused: at most 10"),
            (("default = 4", "default = true"), "parameters[0] (tasks): the default is refused: expected an integer"),
            (('type = "int"', 'type = "list"'), "parameters[0] (tasks): 'type' must be one of int, float, str, bool"),
            (("min = 1, ", "choices = [], "), "parameters[0] (tasks): 'choices' is a non-empty list of strings"),
            (('name = "tasks"', 'name = "Tasks"'), "parameters[0] (Tasks): a name is lower-case letters"),
            (('help = "Tasks."', 'helps = "Tasks."'), "parameters[0]: unknown key 'helps'"),
            (("parameters = [{", "parameters = [{ name = 1 }, {"), "parameters[0]: 'default' is missing"),
            (("title =", "title = = "), "demo/pipeline.toml: Invalid"),
        ],
    )
    def test_a_manifest_that_cannot_serve_is_refused_saying_why(self, tmp_path, change, message):
        old, new = change
        assert old in DEMO
        with pytest.raises(ManifestError) as refused:
            self.load(tmp_path, DEMO.replace(old, new, 1))
        assert str(refused.value).startswith("pipelines/library/demo/pipeline.toml")
        assert message in str(refused.value)

    def test_a_bool_defaults_to_false_and_names_are_unique(self, tmp_path):
        flag = '{ name = "dry_run", type = "bool", default = true, help = "No run." }'
        with pytest.raises(ManifestError, match="a bool's default is false"):
            self.load(tmp_path / "a", DEMO.replace("parameters = [", f"parameters = [{flag}, "))
        twice = DEMO.replace(
            "parameters = [{ name", 'parameters = [{ name = "tasks", type = "str", default = "x", help = "x" }, { name'
        )
        with pytest.raises(ManifestError, match="two parameters are called 'tasks'"):
            self.load(tmp_path / "b", twice)
