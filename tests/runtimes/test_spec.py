"""Parsing environment.yml and Dockerfiles, `$LITHOPS`, and what the spec hash does and does not see."""

from __future__ import annotations

import pytest

from pyrun_web.errors import PyrunError
from runtimes.spec import (
    LITHOPS_PACKAGES,
    RuntimeSpec,
    parse_dockerfile,
    parse_environment,
    python_specifiers,
    spec_hash,
)
from tests.runtimes.conftest import MALFORMED


def error_of(text: str, parse=parse_environment) -> PyrunError:
    with pytest.raises(PyrunError) as caught:
        parse(text)
    return caught.value


def test_environment_with_conda_pip_and_channels():
    spec = parse_environment(
        "name: science\nchannels:\n  - conda-forge\n  - defaults\ndependencies:\n  - python>=3.10\n"
        "  - numpy>=1.26\n  - pip\n  - pip:\n      - requests==2.32.3\n      - six\n"
    )
    assert spec.kind == "conda" and spec.name == "science"
    assert spec.python == ">=3.10"
    assert spec.channels == ("conda-forge", "defaults")
    assert spec.conda_packages == ("numpy>=1.26",)
    assert sorted(spec.pip_packages) == ["pip", "requests==2.32.3", "six"]
    assert not spec.is_pip_only


@pytest.mark.parametrize(
    ("dep", "pin"),
    [("python", ""), ("python=3.11", "3.11"), ("python>=3.10", ">=3.10"), ("python 3.12", "3.12"),
     ("python==3.11.7", "==3.11.7"), ("python=3.11=h123_0", "3.11"), ("python>=3.10,<3.13", ">=3.10,<3.13")],
)  # fmt: skip
def test_python_pin_is_pulled_out_of_dependencies(dep, pin):
    spec = parse_environment(f"dependencies:\n  - {dep}\n  - pip:\n      - six\n")
    assert spec.python == pin
    assert spec.conda_packages == ()
    assert spec.is_pip_only


def test_python_lookalikes_are_packages():
    spec = parse_environment("dependencies:\n  - python-dateutil\n  - python3-foo\n")
    assert spec.python == "" and spec.conda_packages == ("python-dateutil", "python3-foo")


def test_conda_pins_mean_what_conda_means():
    assert python_specifiers("3.11")[0].contains("3.11.7")
    assert not python_specifiers("3.11")[0].contains("3.12.1")
    assert python_specifiers("3.11.7")[0].contains("3.11.7") and not python_specifiers("3.11.7")[0].contains("3.11.2")
    assert python_specifiers(">=3.10,<3.13")[0].contains("3.12.1")
    assert any(s.contains("3.12.1") for s in python_specifiers("3.9|3.12"))


def test_lithops_is_substituted_with_the_platform_pin_and_agent_requirements():
    spec = parse_environment("dependencies:\n  - python=3.11\n  - pip:\n      - $LITHOPS\n      - psutil\n")
    assert spec.pip_packages[0] == "lithops==3.8.0"
    assert set(LITHOPS_PACKAGES) <= set(spec.pip_packages)
    assert len(spec.pip_packages) == len(set(spec.pip_packages))  # psutil once


def test_empty_file_is_the_default_runtime():
    spec = parse_environment("# nothing yet\n")
    assert spec == RuntimeSpec(kind="conda")


def test_malformed_yaml_names_the_line():
    error = error_of(MALFORMED)
    assert error.id == "runtime:user:bad-yaml"
    assert error.params["line"] == 6
    assert "line 6" in error.message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\ndependencies: six\n", 2, "must be a list"),
        ("name: x\ndependencies:\n  - six\n  - [a, b]\n", 4, "single value"),
        ("name: x\ndependencies:\n  - pip:\n      - six\n  - conda:\n      - a\n", 5, "only be `pip:`"),
        ("name: x\ndependancies:\n  - six\n", 2, "unknown key `dependancies`"),
        ("- a\n- b\n", 1, "must be a mapping"),
        ("dependencies:\n  - python=3.11\n  - python=3.12\n", 3, "pinned twice"),
        ("dependencies:\n  - python=abc\n", 2, "not a version pin"),
        ("dependencies:\n  - pip:\n      - --index-url https://evil.example/simple\n", 3, "pip options"),
        ("dependencies:\n  - pip:\n      - ./local-folder\n", 3, "not a pip requirement"),
        ("dependencies:\n  - pip:\n      - pkg @ file:///etc/passwd\n", 3, "https://"),
        ("channels: conda-forge\n", 1, "must be a list"),
    ],
)
def test_structural_errors_name_the_line(text, line, words):
    error = error_of(text)
    assert error.id == "runtime:user:bad-spec"
    assert error.params["line"] == line, error.message
    assert words in error.message


def test_dockerfile_with_lithops_build_arg():
    spec = parse_dockerfile(
        "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nARG LITHOPS\nRUN pip install $LITHOPS \\\n  numpy\n"
    )
    assert spec.kind == "docker"
    assert spec.python == "3.11"
    assert spec.build_args == {"LITHOPS": " ".join(LITHOPS_PACKAGES)}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("RUN echo hi\n", 1, "start with a FROM"),
        ("FROM debian\nRUN pip install ${LITHOPS}\n", 2, "ARG LITHOPS"),
        ("\n# only a comment\n", 1, "start with a FROM"),
    ],
)
def test_dockerfile_errors(text, line, words):
    error = error_of(text, parse_dockerfile)
    assert error.id == "runtime:user:bad-dockerfile"
    assert error.params["line"] == line
    assert words in error.message


def _hash(text: str, **kwargs) -> str:
    options = {"target": "local", "python_version": "3.11.7", "context_files_digest": ""} | kwargs
    return spec_hash(parse_environment(text), **options)


def test_hash_ignores_order_whitespace_comments_and_name():
    a = _hash("name: a\ndependencies:\n  - python=3.11\n  - pip:\n      - six\n      - idna>=3\n")
    b = _hash("# comment\nname: b\ndependencies:\n  - python=3.11\n  - pip:\n      - IDNA >= 3\n      - six\n")
    assert a == b


def test_hash_sees_packages_target_python_context_and_channel_order():
    base = "dependencies:\n  - python=3.11\n  - pip:\n      - six\n"
    reference = _hash(base)
    assert _hash(base.replace("six", "six==1.16.0")) != reference
    assert _hash(base, target="lambda-layer") != reference
    assert _hash(base, python_version="3.11.2") != reference
    assert _hash(base, context_files_digest="abc") != reference
    one = _hash("channels:\n  - a\n  - b\ndependencies:\n  - numpy\n")
    two = _hash("channels:\n  - b\n  - a\ndependencies:\n  - numpy\n")
    assert one != two  # channel order is conda's priority


def test_hash_sees_the_builder_version(monkeypatch):
    base = "dependencies:\n  - pip:\n      - six\n"
    before = _hash(base)
    monkeypatch.setattr("runtimes.spec.BUILDER_VERSION", "999")
    assert _hash(base) != before


def test_spec_json_round_trip():
    spec = parse_dockerfile("FROM python:3.12\nARG LITHOPS\n")
    assert RuntimeSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("spec", "target"),
    [
        (parse_environment("dependencies:\n  - six\n"), "image"),
        (parse_dockerfile("FROM python:3.11\n"), "lambda-layer"),
    ],
)
def test_targets_no_builder_supports_are_refused(spec, target):
    from runtimes.services import choose_builder

    with pytest.raises(PyrunError) as caught:
        choose_builder(spec, target)
    assert caught.value.id == "runtime:user:target-unsupported"


def test_builder_choice():
    from runtimes.services import choose_builder

    assert choose_builder(parse_environment("dependencies:\n  - pip:\n      - six\n"), "local") == "uv"
    assert choose_builder(parse_environment("dependencies:\n  - pip:\n      - six\n"), "lambda-layer") == "uv"
    assert choose_builder(parse_environment("dependencies:\n  - numpy\n"), "local") == "conda"
    assert choose_builder(parse_dockerfile("FROM python:3.11\n"), "image") == "docker"
