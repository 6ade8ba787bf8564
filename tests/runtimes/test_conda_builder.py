"""The conda builder against tiny real channels on disk: py-rattler solves and installs, uv makes the venv and
installs pip packages (PyPI is reachable; conda-forge is not)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.test import override_settings

from pyrun_web.errors import PyrunError
from runtimes.builders.base import BuildContext, BuildResult
from runtimes.builders.conda import CondaBuilder, conda_python_spec, resolve_channel
from runtimes.spec import RuntimeSpec
from tests.runtimes.conda_channel import (
    DATA_MESSAGE,
    HELLO_GREETING,
    demo_packages,
    host_interpreter,
    make_channel,
    venv_python_package,
)


@pytest.fixture(scope="session")
def demo_channel(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_channel(tmp_path_factory.mktemp("demo-channel"), demo_packages()).as_uri()


@pytest.fixture(scope="session")
def python_channel(tmp_path_factory: pytest.TempPathFactory) -> str:
    package = venv_python_package(host_interpreter("3.11"), "3.11.99")
    return make_channel(tmp_path_factory.mktemp("python-channel"), [package]).as_uri()


class Build:
    """Drives the builder directly, as the build task does, keeping every log line."""

    def __init__(self, prefix: Path, **spec: object) -> None:
        self.lines: list[str] = []
        self.ctx = BuildContext(
            runtime_id=1,
            spec=RuntimeSpec(kind="conda", **spec),
            prefix=prefix,
            context_dir=prefix.parent,
            log=self.lines.append,
            timeout_s=300,
        )

    def run(self) -> BuildResult:
        return CondaBuilder().build(self.ctx)

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def python(self, code: str) -> str:
        done = subprocess.run(
            [str(self.ctx.prefix / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def test_channel_names_resolve_through_the_alias(tmp_path: Path) -> None:
    assert resolve_channel("conda-forge") == "https://conda.anaconda.org/conda-forge"
    assert resolve_channel("conda-forge", "https://mirror.example/conda/") == "https://mirror.example/conda/conda-forge"
    assert resolve_channel("me/label/dev", "https://m.example") == "https://m.example/me/label/dev"
    with override_settings(PYRUN_CONDA_CHANNEL_ALIAS="http://127.0.0.1:8081/channels"):
        assert resolve_channel(" bioconda ") == "http://127.0.0.1:8081/channels/bioconda"
    assert resolve_channel("https://repo.prefix.dev/conda-forge/") == "https://repo.prefix.dev/conda-forge"
    assert resolve_channel("file:///srv/channel") == "file:///srv/channel"
    assert resolve_channel(str(tmp_path / "channel")) == (tmp_path / "channel").as_uri()


def test_python_pins_mean_what_conda_users_mean() -> None:
    assert conda_python_spec("3.11") == "python 3.11.*"
    assert conda_python_spec("3.11.*") == "python 3.11.*"
    assert conda_python_spec(">=3.10,<3.13") == "python >=3.10,<3.13"
    assert conda_python_spec("") == "python"


def test_noarch_python_package_lands_in_a_venv_of_the_host_python(tmp_path: Path, demo_channel: str) -> None:
    build = Build(tmp_path / "rt", python="3.11", channels=(demo_channel,), conda_packages=("pyrun-hello",))
    result = build.run()

    assert build.python("import pyrun_hello; print(pyrun_hello.GREETING)") == HELLO_GREETING
    assert build.python("import pyrun_hello; print(pyrun_hello.message())") == DATA_MESSAGE  # the generic dependency
    assert build.python("import pyrun_hello; print(pyrun_hello.__file__)").startswith(
        str(build.ctx.prefix / "lib" / "python3.11" / "site-packages")
    )
    assert result.python_version.startswith("3.11.")
    assert result.prefix == str(build.ctx.prefix)
    assert result.extra["base_prefix"] == build.python("import sys; print(sys.base_prefix)")
    assert result.size_bytes > 0
    assert {(p["name"], p["version"], p["source"]) for p in result.packages} == {
        ("pyrun-hello", "1.2.0", "conda"),
        ("pyrun-data", "0.1.0", "conda"),
    }
    assert "Python: host interpreter" in build.log
    assert f"pyrun-hello=1.2.0 py_0 {demo_channel}" in build.log
    assert "pyrun-data=0.1.0 0" in build.log
    assert "linking pyrun-hello" in build.log
    # the prefix describes its python to any later conda tool, but rattler never installed one
    assert (build.ctx.prefix / "conda-meta" / f"python-{result.python_version}-pyrun_host.json").is_file()
    assert (build.ctx.prefix / "pyvenv.cfg").is_file()


def test_python_comes_from_the_channels_when_they_carry_it(
    tmp_path: Path, demo_channel: str, python_channel: str
) -> None:
    build = Build(
        tmp_path / "rt", python="3.11", channels=(demo_channel, python_channel), conda_packages=("pyrun-hello",)
    )
    result = build.run()

    assert build.python("import pyrun_hello; print(pyrun_hello.GREETING)") == HELLO_GREETING
    assert "Python: from the channels (python 3.11.*)" in build.log
    assert f"python=3.11.99 pyrun_venv_0 {python_channel}" in build.log
    assert "base_prefix" not in result.extra
    assert ("python", "3.11.99", "conda") in {(p["name"], p["version"], p["source"]) for p in result.packages}


def test_unknown_package_shows_the_solver_message(tmp_path: Path, demo_channel: str) -> None:
    build = Build(tmp_path / "rt", python="3.11", channels=(demo_channel,), conda_packages=("no-such-package",))
    with pytest.raises(PyrunError) as caught:
        build.run()

    assert caught.value.id == "runtime:user:conda-solve-failed"
    assert "No candidates were found for no-such-package" in caught.value.message
    assert not build.ctx.prefix.exists()  # a failed build leaves nothing half-made behind


def test_conflict_with_the_python_pin_shows_the_solver_message(tmp_path: Path, demo_channel: str) -> None:
    build = Build(tmp_path / "rt", python="3.11", channels=(demo_channel,), conda_packages=("pyrun-legacy",))
    with pytest.raises(PyrunError) as caught:
        build.run()

    assert caught.value.id == "runtime:user:conda-solve-failed"
    assert "pyrun-legacy 0.9 would require" in caught.value.message
    assert "python <3" in caught.value.message


@pytest.mark.parametrize(
    "channel", ["file:///nonexistent/pyrun-channel", "http://127.0.0.1:9/conda-forge"], ids=["missing-dir", "refused"]
)
def test_unreachable_channel_is_named(tmp_path: Path, demo_channel: str, channel: str) -> None:
    build = Build(tmp_path / "rt", python="3.11", channels=(demo_channel, channel), conda_packages=("pyrun-hello",))
    with pytest.raises(PyrunError) as caught:
        build.run()

    assert caught.value.id == "runtime:user:conda-channel-unreachable"
    assert caught.value.params["channel"] == repr(channel)


def test_bare_channel_names_use_the_alias(tmp_path: Path) -> None:
    build = Build(tmp_path / "rt", channels=("conda-forge",), conda_packages=("pyrun-hello",))
    with override_settings(PYRUN_CONDA_CHANNEL_ALIAS="http://127.0.0.1:9/mirror"), pytest.raises(PyrunError) as caught:
        build.run()

    assert caught.value.id == "runtime:user:conda-channel-unreachable"
    assert caught.value.params["channel"] == "'conda-forge' (http://127.0.0.1:9/mirror/conda-forge)"


def test_python_nobody_has_is_reported(tmp_path: Path, demo_channel: str) -> None:
    build = Build(tmp_path / "rt", python="2.5", channels=(demo_channel,), conda_packages=("pyrun-hello",))
    with pytest.raises(PyrunError) as caught:
        build.run()

    assert caught.value.id == "runtime:user:python-unavailable"
    assert "3.11" in caught.value.params["available"]


def test_conda_and_pip_packages_together(tmp_path: Path, demo_channel: str) -> None:
    build = Build(
        tmp_path / "rt",
        python="3.11",
        channels=(demo_channel,),
        conda_packages=("pyrun-hello",),
        pip_packages=("six==1.16.0",),
    )
    result = build.run()

    assert build.python("import pyrun_hello, six; print(pyrun_hello.GREETING, six.__version__)") == "hi 1.16.0"
    # only what uv installed is pypi (not the platform's own project, found via the worker's cwd)
    assert [(p["name"], p["version"]) for p in result.packages if p["source"] == "pypi"] == [("six", "1.16.0")]
    assert ("pyrun-hello", "1.2.0", "conda") in {(p["name"], p["version"], p["source"]) for p in result.packages}
    assert "uv pip install --python" in build.log


def test_pip_failure_is_a_user_error(tmp_path: Path, demo_channel: str) -> None:
    build = Build(
        tmp_path / "rt",
        python="3.11",
        channels=(demo_channel,),
        conda_packages=("pyrun-hello",),
        pip_packages=("pyrun-no-such-distribution-xyz==0.0.1",),
    )
    with pytest.raises(PyrunError) as caught:
        build.run()

    assert caught.value.id == "runtime:user:pip-failed"
    assert "pyrun-no-such-distribution-xyz" in caught.value.message
