"""One job: push a local image to a registry with the docker SDK, streaming the push to a log.

The Docker builder (local/self-hosted registry) and the ECR publisher both push through here, so the path
tested against a local ``docker-registry`` is the one that pushes to ECR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import docker
import docker.errors
import requests.exceptions

from pyrun_web.errors import PyrunError

Log = Callable[[str], None]


def push_image(
    client: docker.DockerClient,
    repository: str,
    tag: str,
    log: Log,
    *,
    auth_config: dict[str, str] | None = None,
) -> str:
    """Push ``repository:tag`` (already tagged locally) and return the digest the registry gave it."""
    image = f"{repository}:{tag}"
    log(f"$ docker push {image}")
    try:
        chunks = client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth_config)
        digest = _follow(chunks, image, log)
    except docker.errors.APIError as exc:
        detail = exc.explanation or str(exc)
        raise PyrunError("runtime:platform:docker-push-failed", image=image, detail=detail) from exc
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        raise PyrunError("runtime:platform:docker-unavailable", detail=str(exc)) from exc
    if not digest:
        raise PyrunError("runtime:platform:docker-push-failed", image=image, detail="the registry returned no digest")
    log(f"pushed {image}@{digest}")
    return digest


def _follow(chunks: Iterable[dict], image: str, log: Log) -> str:
    digest = ""
    last_status: dict[str, str] = {}
    for chunk in chunks:
        if "error" in chunk:
            log(f"ERROR: {chunk['error']}")
            raise PyrunError("runtime:platform:docker-push-failed", image=image, detail=chunk["error"].strip())
        aux = chunk.get("aux") or {}
        digest = aux.get("Digest", digest)
        status = chunk.get("status")
        if not status:
            continue
        layer = chunk.get("id", "")
        # Progress chunks repeat "Pushing" many times a second per layer: log each layer's status once.
        if last_status.get(layer) == status:
            continue
        last_status[layer] = status
        log(f"{layer}: {status}" if layer else status)
    return digest
