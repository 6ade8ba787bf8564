"""A hostile tenant's Dockerfile: it may not read another org's runtime image (``FROM``, ``COPY --from``, an
``ONBUILD`` trigger, an image id), pull from a registry the operator did not allow, make the daemon download a URL
(``ADD``), set loader variables in the image (``ENV LD_PRELOAD``), or reach the host, its loopback services, the
metadata endpoint or private networks from a ``RUN`` step; the internet stays reachable.

The first tests check the Dockerfile reader alone (no daemon); the others build for real against the daemon,
registry and base image of ``scripts/docker-test-env.sh`` (and skip without them).
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import socket
import threading
import urllib.request
from pathlib import Path

import docker.errors
import pytest

from pyrun_web.errors import PyrunError
from runtimes.builders.base import BuildContext, BuildResult
from runtimes.builders.dockerfile_policy import BaseImage, ImagePolicy, check_dockerfile, check_triggers
from tests.runtimes import test_docker_builder
from tests.runtimes.test_docker_builder import BASE_IMAGE, REPOSITORY, _ids, build_context
from tests.security.netns import METADATA, PROBE, can_make_hosts, private_host, probe_results

dk = test_docker_builder.dk  # the daemon fixture (skips without one)

# Org 7 builds; org 8 is the victim; 127.0.0.1:5000 is the platform's registry.
POLICY = ImagePolicy("pyrun/runtimes-org7", "pyrun/runtimes", frozenset({"docker.io", "127.0.0.1:5000"}))


def refused(dockerfile: str, build_args: dict[str, str] | None = None) -> PyrunError:
    with pytest.raises(PyrunError) as raised:
        check_dockerfile(dockerfile, build_args or {}, POLICY)
    assert raised.value.is_user_fault
    return raised.value


# --- The Dockerfile reader ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dockerfile, line, image",
    [
        ("FROM pyrun/runtimes-org8:rt12\n", 1, "pyrun/runtimes-org8:rt12"),
        ("FROM pyrun/runtimes:rt12\n", 1, "pyrun/runtimes:rt12"),  # the one shared repository of before
        ("FROM docker.io/pyrun/runtimes-org8\n", 1, "docker.io/pyrun/runtimes-org8"),
        ("FROM 127.0.0.1:5000/pyrun/runtimes-org8:rt1\n", 1, "127.0.0.1:5000/pyrun/runtimes-org8:rt1"),
        ("FROM --platform=linux/amd64 pyrun/runtimes-org8:rt1 AS base\n", 1, "pyrun/runtimes-org8:rt1"),
        ("from pyrun/runtimes-org8:rt1\n", 1, "pyrun/runtimes-org8:rt1"),
        ('FROM "pyrun/runtimes-org8:rt1"\n', 1, "pyrun/runtimes-org8:rt1"),
        ("ARG BASE=pyrun/runtimes-org8:rt1\nFROM ${BASE}\n", 2, "pyrun/runtimes-org8:rt1"),
        ("ARG ORG=8\nARG BASE=pyrun/runtimes-org${ORG}\nFROM $BASE:rt1\n", 3, "pyrun/runtimes-org8:rt1"),
        ("FROM ${UNSET:-pyrun/runtimes-org8:rt1}\n", 1, "pyrun/runtimes-org8:rt1"),
        # A comment line inside a continued instruction is dropped by the daemon, not ended at.
        ("FROM \\\n# a comment\n   pyrun/runtimes-org8:rt1\n", 1, "pyrun/runtimes-org8:rt1"),
        ("# escape=`\nFROM `\n  pyrun/runtimes-org8:rt1\n", 2, "pyrun/runtimes-org8:rt1"),
        ("FROM debian:12 AS b\nFROM debian:12\nCOPY --from=pyrun/runtimes-org8:rt1 /d /d\n", 3, "runtimes-org8:rt1"),
        ('FROM debian:12\nCOPY --chown=0 --from="pyrun/runtimes-org\\8:rt1" /d /d\n', 2, "pyrun/runtimes-org8:rt1"),
        ("FROM debian:12\nONBUILD COPY --from=pyrun/runtimes-org8:rt1 / /stolen\n", 2, "pyrun/runtimes-org8:rt1"),
        # The daemon looks a name it has no tag for up as an image id prefix: any org's image.
        ("FROM 3f2a9c0d\n", 1, "3f2a9c0d"),
        ("FROM debian:12\nCOPY --from=sha256:3f2a9c0d / /stolen\n", 2, "sha256:3f2a9c0d"),
    ],
)
def test_another_orgs_runtime_image_is_refused_however_it_is_named(dockerfile, line, image):
    error = refused(dockerfile)

    assert error.id == "runtime:user:docker-from-refused"
    assert f"line {line}:" in error.message and image in error.message


def test_the_build_args_decide_what_a_from_names():
    dockerfile = "ARG BASE=debian:12\nFROM ${BASE}\n"

    assert [b.image for b in check_dockerfile(dockerfile, {}, POLICY)] == ["debian:12"]
    assert "pyrun/runtimes-org8:rt1" in refused(dockerfile, {"BASE": "pyrun/runtimes-org8:rt1"}).message
    # An ARG of a stage is not visible to a later FROM, whatever the build args say.
    assert "cannot be resolved" in refused("FROM debian:12\nARG B=debian:12\nFROM $B\n", {"B": "x"}).message


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM $UNDECLARED\n",
        "ARG BASE\nFROM ${BASE}\n",  # declared, no default, no build arg
        "ARG BASE=debian\nFROM ${BASE/debian/pyrun}\n",  # substitutions the daemon versions disagree on
        "ARG BASE=${X?unset}\nFROM $BASE\n",
        "FROM debian:12 AS one two\n",
    ],
)
def test_a_from_that_cannot_be_resolved_before_the_build_is_refused(dockerfile):
    assert refused(dockerfile).id == "runtime:user:docker-from-refused"


@pytest.mark.parametrize(
    "dockerfile, registry",
    [
        ("FROM ghcr.io/someone/image:1\n", "ghcr.io"),
        ("FROM localhost:5000/image\n", "localhost:5000"),
        ("FROM 169.254.169.254/latest\n", "169.254.169.254"),
        ("ARG R=quay.io\nFROM ${R}/someone/image\n", "quay.io"),
        ("FROM debian:12\nCOPY --from=ghcr.io/someone/image:1 / /x\n", "ghcr.io"),
    ],
)
def test_a_registry_the_operator_did_not_allow_is_refused(dockerfile, registry):
    error = refused(dockerfile)

    assert error.id == "runtime:user:docker-from-refused"
    assert f"the registry {registry} is not allowed" in error.message


def test_the_operator_allows_registries_and_the_platforms_own_always_is(settings):
    settings.PYRUN_DOCKER_REPOSITORY = "pyrun/runtimes"
    settings.PYRUN_DOCKER_REGISTRY = "registry.internal:5000"
    settings.PYRUN_DOCKER_ALLOWED_REGISTRIES = ["docker.io", "ghcr.io"]
    policy = ImagePolicy.for_org(7)

    assert policy.refusal("ghcr.io/someone/image:1") is None
    assert policy.refusal("registry.internal:5000/team/base:1") is None
    assert policy.refusal("registry.internal:5000/pyrun/runtimes-org7:rt3") is None
    assert "another runtime repository" in policy.refusal("registry.internal:5000/pyrun/runtimes-org8:rt3")
    assert "not allowed" in policy.refusal("quay.io/someone/image")


def test_ordinary_dockerfiles_pass():
    dockerfile = (
        "# syntax=docker/dockerfile:1\n"
        "ARG PY=3.11\n"
        "FROM --platform=linux/amd64 python:${PY}-slim AS build\n"
        "RUN pip wheel -w /w six\n"
        "FROM pyrun/runtimes-org7:rt3 AS own\n"  # the tenant's own runtime
        "FROM docker.io/library/debian:12\n"
        "COPY --from=build /w /w\n"
        "COPY --from=0 /w /w2\n"
        "COPY --from=own /etc/hostname /x\n"
        "ADD app.tar.gz /opt/\n"
        "FROM scratch\n"
        "FROM build\n"
        "FROM 127.0.0.1:5000/team/base:1\n"
    )

    bases = check_dockerfile(dockerfile, {}, POLICY)

    assert [(b.line, b.image) for b in bases] == [
        (3, "python:3.11-slim"),
        (5, "pyrun/runtimes-org7:rt3"),
        (6, "docker.io/library/debian:12"),
        (13, "127.0.0.1:5000/team/base:1"),
    ]
    assert bases[0].platform == "linux/amd64"


@pytest.mark.parametrize(
    "add",
    [
        "ADD http://169.254.169.254/latest/meta-data/ /m",
        'ADD ["https://example.org/x", "/x"]',
        "ADD http:\\/\\/127.0.0.1:6379/ /x",
        "ADD ${URL} /x",
        "ONBUILD ADD http://10.0.0.1/ /x",
    ],
)
def test_add_never_makes_the_daemon_download(add):
    error = refused(f"FROM debian:12\n{add}\n")

    assert error.id == "runtime:user:docker-add-url-refused"
    assert "line 2:" in error.message


def test_onbuild_triggers_of_a_base_image_are_checked_like_the_dockerfile():
    base = BaseImage(1, "someone/innocent:1")
    check_triggers(["RUN echo hi", "COPY --from=builder / /x"], base, POLICY)

    with pytest.raises(PyrunError) as raised:
        check_triggers(["COPY --from=pyrun/runtimes-org8:rt1 / /stolen"], base, POLICY)

    assert raised.value.id == "runtime:user:docker-from-refused"
    assert "ONBUILD trigger of someone/innocent:1" in raised.value.message


# --- Real builds -------------------------------------------------------------------------------------------

_folders = itertools.count()


def build_for(org_id: int, tmp_path: Path, dockerfile: str, dk, lines: list[str] | None = None) -> BuildResult:
    """Build ``dockerfile`` as org ``org_id`` (its second line is a unique LABEL: see ``build_context``)."""
    from runtimes.builders.docker import DockerBuilder

    folder = tmp_path / f"build{next(_folders)}"
    folder.mkdir()
    ctx: BuildContext = build_context(folder, dockerfile, lines)
    ctx.org_id = org_id
    dk.created.append(f"{REPOSITORY}-org{org_id}:rt{ctx.runtime_id}")
    result: BuildResult = DockerBuilder().build(ctx)
    return result


@pytest.fixture
def orgs() -> tuple[int, int]:
    """Two org ids of this test run (the tenant, and its victim)."""
    return next(_ids), next(_ids)


@pytest.mark.slow
def test_each_org_has_its_own_repository_and_may_build_only_on_its_own(tmp_path, dk, orgs):
    tenant, victim = orgs
    secret = f"victim-secret-{victim}"
    theirs = build_for(victim, tmp_path, f"FROM {BASE_IMAGE}\nRUN echo {secret} > /secret\n", dk)
    mine = build_for(tenant, tmp_path, f"FROM {BASE_IMAGE}\n", dk)

    their_repository = theirs.extra["tagged"].rpartition(":")[0]
    assert their_repository == f"{REPOSITORY}-org{victim}"
    assert mine.extra["tagged"].rpartition(":")[0] == f"{REPOSITORY}-org{tenant}" != their_repository

    lines: list[str] = []
    their_tag, their_id = theirs.extra["tagged"], theirs.extra["image_id"].removeprefix("sha256:")[:12]
    for hostile, named in (
        (f"FROM {their_tag}\nRUN cat /secret\n", their_tag),
        (f"FROM {BASE_IMAGE}\nCOPY --from={their_tag} /secret /stolen\nRUN cat /stolen\n", their_tag),
        (f"FROM {BASE_IMAGE}\nCOPY --from={their_id} /secret /stolen\nRUN cat /stolen\n", their_id),
    ):
        with pytest.raises(PyrunError) as raised:
            build_for(tenant, tmp_path, hostile, dk, lines)
        assert raised.value.id == "runtime:user:docker-from-refused", raised.value.message
        assert named in raised.value.message
        assert secret not in lines

    # Its own runtime is a fine base for the victim.
    own: list[str] = []
    build_for(victim, tmp_path, f"FROM {theirs.extra['tagged']}\nRUN cat /secret\n", dk, own)
    assert secret in own


@pytest.mark.slow
@pytest.mark.parametrize("where", ["on the daemon", "pulled from a registry"])
def test_an_onbuild_trigger_of_a_base_image_cannot_read_another_org(tmp_path, dk, orgs, settings, where):
    tenant, victim = orgs
    theirs = build_for(victim, tmp_path, f"FROM {BASE_IMAGE}\nRUN echo victim-secret > /secret\n", dk)
    # A public image (or one made before this check) whose trigger copies from the victim's runtime.
    hostile_base = f"pyrun-test/onbuild-{tenant}:1"
    if where != "on the daemon":
        test_docker_builder.registry_or_skip()
        settings.PYRUN_DOCKER_ALLOWED_REGISTRIES = ["docker.io", test_docker_builder.REGISTRY]
        hostile_base = f"{test_docker_builder.REGISTRY}/{hostile_base}"
    context = tmp_path / "hostile-base"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nLABEL pyrun.test={tenant}\nONBUILD COPY --from={theirs.extra['tagged']} /secret /stolen\n"
    )
    dk.client.images.build(path=str(context), tag=hostile_base, network_mode="none", rm=True)
    dk.created.append(hostile_base)
    if where != "on the daemon":
        dk.client.images.push(hostile_base)
        dk.client.images.remove(hostile_base)  # the builder pulls it, as the daemon would

    lines: list[str] = []
    with pytest.raises(PyrunError) as raised:
        build_for(tenant, tmp_path, f"FROM {hostile_base}\nRUN cat /stolen\n", dk, lines)

    assert raised.value.id == "runtime:user:docker-from-refused"
    assert f"ONBUILD trigger of {hostile_base}" in raised.value.message
    assert (f"$ docker pull {hostile_base}" in lines) == (where != "on the daemon")


@pytest.mark.slow
@pytest.mark.parametrize("registry", ["127.0.0.1:5000", "ghcr.io"])
def test_from_a_registry_that_is_not_allowed_is_refused(tmp_path, dk, orgs, registry):
    with pytest.raises(PyrunError) as raised:
        build_for(orgs[0], tmp_path, f"FROM {registry}/pyrun/base:bookworm\n", dk)

    assert raised.value.id == "runtime:user:docker-from-refused"
    assert f"the registry {registry} is not allowed" in raised.value.message


@pytest.mark.slow
@pytest.mark.parametrize("variable", ["LD_PRELOAD=/usr/lib/x.so", "GCONV_PATH=/tmp/gconv"])
def test_an_image_env_with_a_loader_variable_is_refused(tmp_path, dk, orgs, variable):
    name = variable.partition("=")[0]

    with pytest.raises(PyrunError) as raised:
        build_for(orgs[0], tmp_path, f"FROM {BASE_IMAGE}\nENV {variable}\n", dk)

    assert raised.value.id == "runtime:user:image-env-refused"
    assert raised.value.message.startswith(f"The image sets {name}, which runtimes may not set")
    # No tag of it stays in the org's repository for a later FROM.
    assert not dk.client.images.list(name=f"{REPOSITORY}-org{orgs[0]}")


class _Server(http.server.ThreadingHTTPServer):
    """A service of the host (the platform's web server, Redis, an internal API) that records who got in."""

    def __init__(self, host: str) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"host-secret")

            def log_message(self, *args) -> None:
                pass

        super().__init__((host, 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def host_service():
    server = _Server("0.0.0.0")  # noqa: S104 (reachable by the host's own address, as a real service is)
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_add_from_a_url_is_refused_before_the_daemon_fetches_it(tmp_path, dk, orgs, host_service):
    url = f"http://127.0.0.1:{host_service.port}/latest/meta-data/iam"

    with pytest.raises(PyrunError) as raised:
        build_for(orgs[0], tmp_path, f"FROM {BASE_IMAGE}\nADD {url} /stolen\n", dk)

    assert raised.value.id == "runtime:user:docker-add-url-refused"
    assert host_service.requests == []


def _host_address() -> str:
    """This machine's address on its default route (what a container could reach the host by)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent: this only picks the route
        return probe.getsockname()[0]


def _build_gateway(client) -> str:
    with contextlib.suppress(docker.errors.NotFound, IndexError, KeyError):
        return client.networks.get("pyrun-build").attrs["IPAM"]["Config"][0]["Gateway"]
    return ""


@pytest.mark.slow
@pytest.mark.skipif(not can_make_hosts(), reason="a private test host needs root and iproute2")
def test_run_steps_reach_the_internet_but_not_the_host_metadata_or_private_networks(tmp_path, dk, orgs, host_service):
    try:
        urllib.request.urlopen("https://pypi.org/simple/", timeout=20).close()
    except OSError as exc:
        pytest.skip(f"this machine has no internet ({exc})")
    with private_host(subnet=214) as other:
        host = _host_address()
        targets = [
            f"127.0.0.1:{host_service.port}",  # the platform's loopback services (Redis, PostgreSQL, ...)
            "127.0.0.1:6379",
            f"{host}:{host_service.port}",  # the host by its own address
            f"{METADATA}:{other.port}",  # the cloud metadata endpoint
            f"{other.address}:{other.port}",  # a private network
        ]
        gateway = _build_gateway(dk.client)
        if gateway:
            targets.append(f"{gateway}:{host_service.port}")  # the host by the build bridge's gateway
        # The walls are what stops them: from the host itself, these answer.
        for target in (targets[0], targets[2], targets[3], targets[4]):
            address, port = target.rsplit(":", 1)
            socket.create_connection((address, int(port)), timeout=3).close()

        lines: list[str] = []
        dockerfile = (
            f"FROM {BASE_IMAGE}\n"
            "COPY probe.py /probe.py\n"
            f"RUN python /probe.py {' '.join(targets)}\n"
            """RUN python -c 'import urllib.request; urllib.request.urlopen("https://pypi.org/simple/")'\n"""
        )
        folder = tmp_path / "probe"
        folder.mkdir()
        ctx = build_context(folder, dockerfile, lines)
        ctx.org_id = orgs[0]
        (ctx.context_dir / "probe.py").write_text(PROBE)
        dk.created.append(f"{REPOSITORY}-org{orgs[0]}:rt{ctx.runtime_id}")
        from runtimes.builders.docker import DockerBuilder

        DockerBuilder().build(ctx)  # the last step (PyPI over the internet) succeeded

    results = probe_results("\n".join(lines))
    assert set(results) == set(targets), lines[-30:]
    assert all(state == "BLOCKED" for state in results.values()), results
    assert host_service.requests == []


@pytest.mark.parametrize("index", ["1", "281142441190"])
def test_copy_from_a_number_names_an_earlier_stage_or_is_refused(index):
    # Docker reads a number as a stage index even when an image id is made only of digits.
    error = refused(f"FROM debian:12 AS one\nFROM debian:12\nCOPY --from={index} /x /x\n")

    assert error.id == "runtime:user:docker-from-refused"
    assert f"line 3: the image {index} cannot be used: no earlier build stage has the index {index}" in error.message
