"""Builders and publishers by dotted path, imported only when a build needs one (a server without Docker or
rattler can still build uv runtimes)."""

from __future__ import annotations

from importlib import import_module

from pyrun_web.errors import PyrunError

BUILDERS: dict[str, str] = {
    "uv": "runtimes.builders.uv.UvBuilder",
    "conda": "runtimes.builders.conda.CondaBuilder",
    "docker": "runtimes.builders.docker.DockerBuilder",
}

# Targets other than a local prefix: what the build task hands a finished build to.
PUBLISHERS: dict[str, str] = {
    "lambda-layer": "runtimes.publishers.lambda_layer.LambdaLayerPublisher",
    "image": "runtimes.publishers.ecr.EcrPublisher",
}


def _load(dotted: str, name: str) -> object:
    module, _, attr = dotted.rpartition(".")
    try:
        return getattr(import_module(module), attr)()
    except (ImportError, AttributeError) as exc:
        raise PyrunError("runtime:platform:no-builder", builder=name) from exc


def load_builder(name: str) -> object:
    """An instance of the builder registered as ``name`` (see ``runtimes.builders.base.Builder``)."""
    if name not in BUILDERS:
        raise PyrunError("runtime:platform:no-builder", builder=name)
    return _load(BUILDERS[name], name)


def load_publisher(target: str) -> object | None:
    """The publisher of ``target``, or None for targets that need none (a local prefix)."""
    if target not in PUBLISHERS:
        return None
    return _load(PUBLISHERS[target], f"{target} publisher")
