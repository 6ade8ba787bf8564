"""Docker runtimes: build ``.pyrun/Dockerfile`` with the docker SDK, streaming the daemon's log line by line, read
the image's Python, make it a Lambda function image when the target is ``image`` (``lambda_image``), push it to
the configured registry, and unpack its filesystem into the build directory, where jobs run (``runtimes.rootfs``).

The build runs on the daemon's classic builder (BuildKit would need its own images pulled); ``$LITHOPS`` and the
other spec build args go in as ``--build-arg``. A Dockerfile is tenant code, so before the daemon sees it the
images it names are checked (``dockerfile_policy``: no other org's runtime, only allowed registries, no ADD
downloads), its steps run on a fenced bridge network (``build_network``), never the host's, and the built image
may not set loader/libc variables (``LD_PRELOAD``...). Each org's images go to a repository of its own
(``<repository>-org<id>``), so the check can tell a tenant's own runtimes from everyone else's.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from django.conf import settings

from pyrun_web.errors import PyrunError
from pyrun_web.sandbox.env_policy import first_refused
from runtimes.builders import build_network, dockerfile_policy, lambda_image
from runtimes.builders.base import BuildContext, BuildResult
from runtimes.publishers.registry import push_image
from runtimes.rootfs import export_rootfs

CLIENT_TIMEOUT_S = 300  # per socket read of non-streaming calls (image inspect on a busy daemon can be slow)
PROBE_TIMEOUT_S = 120
STEP_LINE = re.compile(r"^Step \d+/\d+ : ")
# What the image has: run with its own python (``python``, else ``python3``), with no network.
PROBE = """
import json, platform, sys
from importlib import metadata
packages = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        packages.setdefault(name.lower(), dist.version)
print(json.dumps({"python": platform.python_version(), "lithops": packages.get("lithops", ""),
                  "executable": sys.executable, "packages": sorted(packages.items())}))
"""


def docker_client() -> docker.DockerClient:
    """A client of the configured daemon, or ``runtime:platform:docker-unavailable``."""
    try:
        if settings.PYRUN_DOCKER_HOST:
            client = docker.DockerClient(base_url=settings.PYRUN_DOCKER_HOST, timeout=CLIENT_TIMEOUT_S)
        else:
            client = docker.from_env(timeout=CLIENT_TIMEOUT_S)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise PyrunError("runtime:platform:docker-unavailable", detail=str(exc)) from exc
    return client


def image_repository(org_id: int) -> str:
    """Where an org's images are tagged: ``<registry>/<repository>-org<id>``, without the registry when none is
    set. One repository per org: ``FROM`` checks (``dockerfile_policy``) allow only the tenant's own."""
    repository = f"{settings.PYRUN_DOCKER_REPOSITORY.strip('/').lower()}-org{int(org_id)}"
    registry = settings.PYRUN_DOCKER_REGISTRY.strip("/")
    return f"{registry}/{repository}" if registry else repository


def image_tag(ctx: BuildContext) -> str:
    # The runtime id: unique per runtime and known to the builder (the spec hash lives on the Runtime row).
    return f"rt{ctx.runtime_id}"


class DockerBuilder:
    name = "docker"

    def build(self, ctx: BuildContext) -> BuildResult:
        client = docker_client()
        try:
            repository, tag = image_repository(ctx.org_id), image_tag(ctx)
            image = f"{repository}:{tag}"
            dockerfile = ctx.context_dir / "Dockerfile"
            if not dockerfile.exists():
                dockerfile.write_text(ctx.spec.dockerfile)
            build_args = dict(ctx.spec.build_args)
            # The file the daemon will read (the context copy holds no symlinks), checked before it does.
            policy = dockerfile_policy.ImagePolicy.for_org(ctx.org_id)
            ctx.phase("resolve")
            bases = dockerfile_policy.check_dockerfile(dockerfile.read_text(errors="replace"), build_args, policy)
            ctx.phase("download")  # base images not here yet are pulled
            _check_base_images(client, ctx, bases, policy)
            ctx.phase("install")
            args = " ".join(f"--build-arg {key}" for key in build_args)
            ctx.log(f"$ docker build --network {build_network.NETWORK} {args} -t {image} .pyrun/".replace("  ", " "))
            image_id = BuildStream(client, ctx, image, build_args).run()
            _check_image_env(client, image)
            probe = _probe(client, image)
            ctx.log(f"image {image} ({image_id[:19]}): Python {probe['python']} at {probe['executable']}")
            if ctx.target == "image":
                image = lambda_image.derive(client, ctx, image, probe)
            extra: dict[str, Any] = {
                "image_id": image_id,
                "tagged": image,
                "lithops_version": probe["lithops"],
                "image_python": probe["executable"],
                "image_env": image_env(client, image),
            }
            image_uri = image
            if settings.PYRUN_DOCKER_REGISTRY:
                digest = push_image(client, repository, image.rsplit(":", 1)[-1], ctx.log)
                image_uri = f"{image}@{digest}"
                extra["digest"] = digest
            size = client.images.get(image).attrs.get("Size", 0)
            export_rootfs(client, image, ctx.prefix, ctx.log)
        except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
            raise PyrunError("runtime:platform:docker-unavailable", detail=str(exc)) from exc
        finally:
            client.close()
        packages = [{"name": name, "version": version, "source": "image"} for name, version in probe["packages"]]
        return BuildResult(
            python_version=probe["python"],
            packages=packages,
            size_bytes=size,
            prefix=str(ctx.prefix),
            image_uri=image_uri,
            extra=extra,
        )


def remove_local_images(runtime_id: int, org_id: int) -> None:
    """Untag a deleted runtime's images on the build daemon (best effort: the layers shared with other images
    stay, and an unreachable daemon only leaves them for ``docker image prune``)."""
    image = f"{image_repository(org_id)}:rt{runtime_id}"
    # Tagged before images had a repository per org.
    registry = settings.PYRUN_DOCKER_REGISTRY.strip("/")
    legacy = f"{registry + '/' if registry else ''}{settings.PYRUN_DOCKER_REPOSITORY.strip('/').lower()}:rt{runtime_id}"
    try:
        client = docker_client()
    except PyrunError:
        return
    try:
        for tag in (lambda_image.lambda_tag(image), image, lambda_image.lambda_tag(legacy), legacy):
            with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
                client.images.remove(tag)
    finally:
        client.close()


# Set by the sandbox for every job, whatever the image says.
_SANDBOX_OWNED_ENV = frozenset({"HOME", "TMPDIR", "HOSTNAME"})


def _check_base_images(
    client: docker.DockerClient,
    ctx: BuildContext,
    bases: list[dockerfile_policy.BaseImage],
    policy: dockerfile_policy.ImagePolicy,
) -> None:
    """A base image's ONBUILD triggers run in this build as if the tenant had written them (an own runtime made
    with ``ONBUILD COPY --from=<another org's image>``, or a public image made to do so): check them too.
    A missing base image is pulled now, as the daemon would during the build, so that there is one to read."""
    for base in bases:
        try:
            attrs = client.images.get(base.image).attrs
        except docker.errors.ImageNotFound:
            _pull(client, ctx, base)
            attrs = client.images.get(base.image).attrs
        dockerfile_policy.check_triggers((attrs.get("Config") or {}).get("OnBuild") or [], base, policy)


def _pull(client: docker.DockerClient, ctx: BuildContext, base: dockerfile_policy.BaseImage) -> None:
    """Pull a base image, logging each layer's progress once and stopping on cancel or at the deadline."""
    step = f"FROM {base.image} (line {base.line})"
    ctx.log(f"$ docker pull {base.image}")
    repository, tag = docker.utils.parse_repository_tag(base.image)
    last_status: dict[str, str] = {}
    try:
        chunks = client.api.pull(
            repository, tag=tag or "latest", stream=True, decode=True, platform=base.platform or None
        )
        for chunk in chunks:
            if ctx.cancelled.is_set():
                raise PyrunError("runtime:user:cancelled")
            if time.monotonic() > ctx.deadline:
                raise PyrunError("runtime:user:timeout", seconds=int(ctx.timeout_s))
            if "error" in chunk:
                raise PyrunError("runtime:user:docker-build-failed", step=step, detail=chunk["error"].strip())
            layer, status = chunk.get("id", ""), chunk.get("status", "")
            if status and last_status.get(layer) != status:
                last_status[layer] = status
                ctx.log(f"{layer}: {status}" if layer else status)
    except docker.errors.APIError as exc:
        detail = exc.explanation or str(exc)
        raise PyrunError("runtime:user:docker-build-failed", step=step, detail=detail) from exc


def _check_image_env(client: docker.DockerClient, image: str) -> None:
    """Refuse an image whose ``ENV`` (its own or its base's) sets a loader/libc variable: jobs get the image's
    environment inside the sandbox, and ``LD_PRELOAD`` there would load a library into every program."""
    pairs = client.images.get(image).attrs.get("Config", {}).get("Env") or []
    refused = first_refused(pair.partition("=")[0] for pair in pairs)
    if refused:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image)  # not a runtime: no tag of it may stay for a later FROM
        raise PyrunError("runtime:user:image-env-refused", name=refused)


def image_env(client: docker.DockerClient, image: str) -> dict[str, str]:
    """The image's ``ENV`` (``Config.Env``), minus what the sandbox sets itself."""
    pairs = client.images.get(image).attrs.get("Config", {}).get("Env") or []
    found = dict(pair.partition("=")[::2] for pair in pairs)
    return {key: value for key, value in found.items() if key and key not in _SANDBOX_OWNED_ENV}


class BuildStream:
    """One ``docker build``: reads the daemon's JSON stream in a thread so the caller can stop it on cancel or at
    the deadline; dropping the connection is what makes the daemon stop the build and its running step."""

    def __init__(
        self,
        client: docker.DockerClient,
        ctx: BuildContext,
        image: str,
        build_args: dict[str, str],
        context_dir: Path | None = None,
    ):
        self.client, self.ctx, self.image, self.build_args = client, ctx, image, build_args
        # Every build of tenant instructions (the Lambda image's too) runs on the fenced build network.
        self.network = build_network.ensure(client)
        self.context_dir = context_dir or ctx.context_dir
        self.responses: list[requests.Response] = []
        self.step = "(before the first step)"
        self.image_id = ""
        self._partial = ""
        self._last_status: dict[str, str] = {}

    def run(self) -> str:
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        thread = threading.Thread(target=self._pump, args=(events,), name=f"docker-build-{self.image}", daemon=True)
        thread.start()
        while True:
            try:
                kind, item = events.get(timeout=0.2)
            except queue.Empty:
                self._check_stop()
                continue
            if kind == "chunk":
                self._handle(item)
            elif kind == "error":
                self._flush()
                raise item
            else:
                break
        self._flush()
        if not self.image_id:
            raise PyrunError("runtime:user:docker-build-failed", step=self.step, detail="the daemon reported no image")
        return self.image_id

    def _pump(self, events: queue.Queue) -> None:
        # Keep the build's HTTP response, to be able to drop its connection from the calling thread.
        self.client.api.hooks["response"].append(lambda response, *args, **kwargs: self.responses.append(response))
        try:
            chunks: Iterator[dict] = self.client.api.build(
                path=str(self.context_dir),
                tag=self.image,
                buildargs=self.build_args,
                network_mode=self.network,
                rm=True,
                forcerm=True,  # no intermediate containers left behind by a failed step
                pull=False,
                decode=True,
            )
            for chunk in chunks:
                events.put(("chunk", chunk))
            events.put(("end", None))
        except docker.errors.APIError as exc:
            # Refused before any step ran (e.g. an unreadable Dockerfile): still the user's Dockerfile.
            detail = exc.explanation or str(exc)
            events.put(("error", PyrunError("runtime:user:docker-build-failed", step=self.step, detail=detail)))
        except BaseException as exc:  # handed to the calling thread, which re-raises it
            events.put(("error", exc))

    def _check_stop(self) -> None:
        if self.ctx.cancelled.is_set():
            self._abort()
            raise PyrunError("runtime:user:cancelled")
        if time.monotonic() > self.ctx.deadline:
            self._abort()
            raise PyrunError("runtime:user:timeout", seconds=int(self.ctx.timeout_s))

    def _abort(self) -> None:
        self.ctx.log(f"stopping the build of {self.image}")
        for response in self.responses:
            _shutdown(response)

    def _handle(self, chunk: dict) -> None:
        if "stream" in chunk:
            self._partial += chunk["stream"]
            *lines, self._partial = self._partial.split("\n")
            for line in lines:
                self._line(line.rstrip("\r"))
        if "status" in chunk:
            layer = chunk.get("id", "")
            if self._last_status.get(layer) != chunk["status"]:
                self._last_status[layer] = chunk["status"]
                self.ctx.log(f"{layer}: {chunk['status']}" if layer else chunk["status"])
        if (chunk.get("aux") or {}).get("ID"):
            self.image_id = chunk["aux"]["ID"]
        if "error" in chunk:
            self._flush()
            detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
            self.ctx.log(f"ERROR: {detail.strip()}")
            raise PyrunError("runtime:user:docker-build-failed", step=self.step, detail=detail.strip())

    def _line(self, line: str) -> None:
        if STEP_LINE.match(line):
            self.step = line
        elif line.startswith("Successfully built ") and not self.image_id:
            self.image_id = line.split()[-1]
        self.ctx.log(line)

    def _flush(self) -> None:
        if self._partial:
            self._line(self._partial.rstrip("\r"))
            self._partial = ""


def _shutdown(response: requests.Response) -> None:
    """Drop the socket under a streaming response; a plain close() would not wake the reading thread."""
    raw = response.raw
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:
        try:
            sock = raw._fp.fp.raw._sock  # http.client response -> SocketIO -> socket
        except AttributeError:
            sock = None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    response.close()


def _probe(client: docker.DockerClient, image: str) -> dict:
    """Python version, lithops version and packages of ``image``; a container per try, always removed."""
    last_error = ""
    for executable in ("python", "python3"):
        try:
            container = client.containers.create(
                image, entrypoint=[executable], command=["-c", PROBE], network_mode="none"
            )
        except docker.errors.APIError as exc:
            last_error = exc.explanation or str(exc)
            continue
        try:
            container.start()
            exit_code = container.wait(timeout=PROBE_TIMEOUT_S).get("StatusCode", 1)
            output = container.logs(stdout=True, stderr=False).decode(errors="replace").strip()
            if exit_code == 0 and output:
                return json.loads(output.splitlines()[-1])
            last_error = container.logs(stdout=False, stderr=True).decode(errors="replace").strip()[-500:]
        except (docker.errors.APIError, requests.exceptions.ReadTimeout, ValueError) as exc:
            last_error = str(exc)
        finally:
            _remove(container)
    raise PyrunError(
        "runtime:user:docker-build-failed",
        step="reading the image's Python",
        detail=f"neither python nor python3 runs in the image ({last_error})",
    )


def _remove(container: Any) -> None:
    with contextlib.suppress(docker.errors.APIError):
        container.remove(force=True)
