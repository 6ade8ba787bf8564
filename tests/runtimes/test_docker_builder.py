"""The Docker builder against a real daemon: the base image ``pyrun/base:bookworm`` and the registry on
127.0.0.1:5000 come from ``scripts/docker-test-env.sh`` (no image can be pulled on CI machines)."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
import httpx
import pytest

from pyrun_web.errors import PyrunError
from runtimes.builders.base import BuildContext, BuildResult
from runtimes.spec import RuntimeSpec

BASE_IMAGE = "pyrun/base:bookworm"
REGISTRY = "127.0.0.1:5000"
REPOSITORY = "pyrun-test/runtimes"
ORG_REPOSITORY = f"{REPOSITORY}-org0"  # where the builder tags the images of a context without an org
LITHOPS_PIN = "lithops==3.8.0 psutil"
_ids = itertools.count(int(time.time()) % 100000 * 100 + os.getpid() % 100)


def docker_or_skip() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # any failure means: no usable daemon here
        pytest.skip(f"no Docker daemon answers ({exc}); run scripts/docker-test-env.sh as root to start one")
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"{BASE_IMAGE} is missing; scripts/docker-test-env.sh builds it (no image can be pulled)")
    return client


def registry_or_skip() -> None:
    try:
        httpx.get(f"http://{REGISTRY}/v2/", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        pytest.skip(f"no registry on {REGISTRY} ({exc}); scripts/docker-test-env.sh starts Debian's docker-registry")


@dataclass
class Docker:
    client: docker.DockerClient
    created: list[str] = field(default_factory=list)  # tags a test made, removed after it


@pytest.fixture
def dk(settings):
    found = Docker(docker_or_skip())
    settings.PYRUN_DOCKER_HOST = ""
    settings.PYRUN_DOCKER_REGISTRY = ""
    settings.PYRUN_DOCKER_REPOSITORY = REPOSITORY
    yield found
    for image in found.created:
        with contextlib.suppress(docker.errors.APIError):
            found.client.images.remove(image, force=True)
    # Failed and cancelled builds leave their committed steps behind as dangling images.
    found.client.images.prune(filters={"dangling": True, "label": "pyrun.test"})
    found.client.close()


def build_context(tmp_path: Path, dockerfile: str, lines: list[str] | None = None) -> BuildContext:
    """A build of ``dockerfile`` with a label unique to this build right after FROM: later steps never come
    from the daemon's build cache, so they really run (and log) on every test run."""
    runtime_id = next(_ids)
    first, _, rest = dockerfile.partition("\n")
    dockerfile = f"{first}\nLABEL pyrun.test={runtime_id}\n{rest}"
    context = tmp_path / "pyrun"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    spec = RuntimeSpec(kind="docker", dockerfile=dockerfile, build_args={"LITHOPS": LITHOPS_PIN})
    log = lines.append if lines is not None else (lambda line: None)
    return BuildContext(runtime_id=runtime_id, spec=spec, prefix=tmp_path / "prefix", context_dir=context, log=log)


def build(ctx: BuildContext, dk: Docker) -> BuildResult:
    from runtimes.builders.docker import DockerBuilder

    dk.created += [f"{ORG_REPOSITORY}:rt{ctx.runtime_id}", f"{REGISTRY}/{ORG_REPOSITORY}:rt{ctx.runtime_id}"]
    return DockerBuilder().build(ctx)


PIN_DOCKERFILE = f"""FROM {BASE_IMAGE}
ARG LITHOPS
RUN echo "$LITHOPS" > /lithops-pin.txt
# A stand-in for an installed lithops (installing it for real is slow): the builder reads its version.
RUN d=/usr/lib/python3/dist-packages/lithops-3.8.0.dist-info && mkdir -p $d \\
    && printf 'Metadata-Version: 2.1\\nName: lithops\\nVersion: 3.8.0\\n' > $d/METADATA
"""


@pytest.mark.slow
def test_dockerfile_builds_and_records_image_python_and_log(tmp_path, dk):
    lines: list[str] = []
    ctx = build_context(tmp_path, PIN_DOCKERFILE, lines)

    result = build(ctx, dk)

    tag = f"{ORG_REPOSITORY}:rt{ctx.runtime_id}"
    assert result.image_uri == tag  # no registry configured: no push, no digest
    image = dk.client.images.get(tag)
    assert result.size_bytes == image.attrs["Size"] > 0
    assert re.fullmatch(r"3\.\d+\.\d+", result.python_version), result.python_version
    assert result.extra["lithops_version"] == "3.8.0"
    assert {"name": "lithops", "version": "3.8.0", "source": "image"} in result.packages
    assert result.extra["image_id"] == image.id
    # The daemon's log arrives line by line, steps included.
    assert any(line.startswith("$ docker build --network pyrun-build --build-arg LITHOPS") for line in lines)
    assert f"Step 1/5 : FROM {BASE_IMAGE}" in lines
    assert any(line.startswith('Step 4/5 : RUN echo "$LITHOPS"') for line in lines)
    assert f"Successfully tagged {tag}" in lines
    assert all("\n" not in line for line in lines)
    # The build arg reached the Dockerfile.
    pin = dk.client.containers.run(tag, ["cat", "/lithops-pin.txt"], remove=True, network_mode="none")
    assert pin.decode().strip() == LITHOPS_PIN


@pytest.mark.slow
def test_pip_inside_a_build_trusts_the_host_ca_bundle(tmp_path, dk):
    # The base image carries the host's CA bundle (this network's egress proxy re-signs TLS): pip must work.
    dockerfile = (
        f"FROM {BASE_IMAGE}\n"
        "RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir six==1.17.0\n"
        'RUN /opt/venv/bin/python -c "import six; print(six.__version__)"\n'
    )
    lines: list[str] = []
    result = build(build_context(tmp_path, dockerfile, lines), dk)
    assert "1.17.0" in lines, lines[-20:]
    assert result.python_version


@pytest.mark.slow
def test_failing_step_is_a_user_error_naming_the_step(tmp_path, dk):
    lines: list[str] = []
    ctx = build_context(tmp_path, f"FROM {BASE_IMAGE}\nRUN echo before-the-failure\nRUN exit 3\n", lines)

    with pytest.raises(PyrunError) as raised:
        build(ctx, dk)

    error = raised.value
    assert error.id == "runtime:user:docker-build-failed"
    assert error.is_user_fault
    assert "Step 4/4 : RUN exit 3" in error.message
    assert "returned a non-zero code: 3" in error.message
    # The log was streamed before the error: the earlier step's output and the error line are in it.
    assert "before-the-failure" in lines
    assert lines[-1].startswith("ERROR: ") and "non-zero code: 3" in lines[-1]
    with pytest.raises(docker.errors.ImageNotFound):
        dk.client.images.get(f"{ORG_REPOSITORY}:rt{ctx.runtime_id}")


@pytest.mark.slow
def test_push_to_the_registry_records_its_uri_and_digest(tmp_path, dk, settings):
    registry_or_skip()
    settings.PYRUN_DOCKER_REGISTRY = REGISTRY
    lines: list[str] = []
    ctx = build_context(tmp_path, f"FROM {BASE_IMAGE}\n", lines)

    result = build(ctx, dk)

    tag = f"rt{ctx.runtime_id}"
    digest = result.extra["digest"]
    assert result.image_uri == f"{REGISTRY}/{ORG_REPOSITORY}:{tag}@{digest}"
    assert digest.startswith("sha256:")
    assert f"$ docker push {REGISTRY}/{ORG_REPOSITORY}:{tag}" in lines
    # Every layer is accounted for (the base image's may already be there from an earlier push).
    assert any(re.fullmatch(r"[0-9a-f]{12}: (Pushed|Layer already exists|Mounted from .+)", line) for line in lines)
    response = httpx.get(
        f"http://{REGISTRY}/v2/{ORG_REPOSITORY}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.json()["schemaVersion"] == 2


@pytest.mark.slow
def test_push_to_an_unreachable_registry_is_a_platform_error(tmp_path, dk, settings):
    from tests.conftest import free_port

    settings.PYRUN_DOCKER_REGISTRY = f"127.0.0.1:{free_port()}"  # nothing listens there
    ctx = build_context(tmp_path, f"FROM {BASE_IMAGE}\n")
    dk.created.append(f"{settings.PYRUN_DOCKER_REGISTRY}/{ORG_REPOSITORY}:rt{ctx.runtime_id}")

    with pytest.raises(PyrunError) as raised:
        build(ctx, dk)

    assert raised.value.id == "runtime:platform:docker-push-failed"
    assert not raised.value.is_user_fault
    assert settings.PYRUN_DOCKER_REGISTRY in raised.value.message


@pytest.mark.slow
def test_cancel_stops_a_running_step(tmp_path, dk):
    marker = f"pyrun-cancel-{tmp_path.name}"
    lines: list[str] = []
    ctx = build_context(tmp_path, f"FROM {BASE_IMAGE}\nRUN echo {marker} && sleep 120\n")

    def log(line: str) -> None:
        lines.append(line)
        if line == marker:
            threading.Timer(0.5, ctx.cancelled.set).start()

    ctx.log = log
    started = time.monotonic()
    with pytest.raises(PyrunError) as raised:
        build(ctx, dk)

    assert raised.value.id == "runtime:user:cancelled"
    assert time.monotonic() - started < 30
    # Dropping the connection makes the daemon stop the step: its container goes away.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        running = [c for c in dk.client.containers.list() if marker in " ".join(c.attrs["Config"]["Cmd"] or [])]
        if not running:
            break
        time.sleep(0.5)
    assert not running


def test_no_daemon_is_a_platform_error(tmp_path, settings):
    from runtimes.builders.docker import DockerBuilder

    settings.PYRUN_DOCKER_HOST = f"unix://{tmp_path}/no-such-docker.sock"
    ctx = build_context(tmp_path, f"FROM {BASE_IMAGE}\n")

    with pytest.raises(PyrunError) as raised:
        DockerBuilder().build(ctx)

    assert raised.value.id == "runtime:platform:docker-unavailable"
    assert raised.value.status == 503
