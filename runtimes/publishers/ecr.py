"""Publish a built Docker runtime to the organisation's ECR repository, where Lithops' aws_lambda backend finds
it as a container runtime.

Lithops 3.8 looks a container runtime ``<image>:<tag>`` up in the ECR repository
``lithops_v<version without dots>_<user_key>[_<namespace>]/<image>`` (``_format_repo_name``, lower-cased), by tag
(``_deploy_container_runtime``). So the per-org repository is ``<that package>/pyrun-<org slug>`` and the
runtime name to put in the Lithops config is ``pyrun-<org slug>:<tag>``.

The ECR API part (repository, token, URIs) and the push are separate so tests can run the first against moto
and the second, which is the Docker builder's own push path, against a local registry.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import aws
from runtimes.builders.base import BuildContext, BuildResult
from runtimes.publishers.lambda_layer import lithops_user_key, org_cloud_account
from runtimes.publishers.registry import push_image

Log = Callable[[str], None]


@dataclass(frozen=True)
class EcrDestination:
    repository_name: str  # e.g. lithops_v380_abcd/pyrun-acme
    repository_uri: str  # <account>.dkr.ecr.<region>.amazonaws.com/<repository_name>
    registry: str  # <account>.dkr.ecr.<region>.amazonaws.com
    username: str
    password: str = ""

    def __repr__(self) -> str:  # the password is a 12-hour registry credential: keep it out of logs
        return f"EcrDestination({self.repository_uri!r})"

    @property
    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "serveraddress": self.registry}

    def image_uri(self, tag: str) -> str:
        return f"{self.repository_uri}:{tag}"


def repository_name(org_slug: str, aws_user_id: str, *, lithops_version: str, namespace: str = "") -> str:
    package = f"lithops_v{lithops_version.replace('.', '')}_{lithops_user_key(aws_user_id)}"
    if namespace:
        package = f"{package}_{namespace}"
    return f"{package}/{image_name(org_slug)}".lower()


def image_name(org_slug: str) -> str:
    return f"pyrun-{org_slug}".lower()


def lithops_runtime_name(org_slug: str, tag: str) -> str:
    """``aws_lambda.runtime`` of the Lithops config for this image (never containing ``default-runtime-v``,
    which would make Lithops look for a layer instead)."""
    return f"{image_name(org_slug)}:{tag}"


def ensure_repository(session: Any, name: str) -> str:
    """The URI of ECR repository ``name``, created when missing."""
    ecr = session.client("ecr")

    def describe() -> str:
        try:
            return ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryUri"]
        except ecr.exceptions.RepositoryNotFoundException:
            return ""

    def create() -> str:
        try:
            return ecr.create_repository(repositoryName=name)["repository"]["repositoryUri"]
        except ecr.exceptions.RepositoryAlreadyExistsException:
            return ""  # created by a concurrent publish since we looked

    return (
        aws.call("ecr:DescribeRepositories", describe)
        or aws.call("ecr:CreateRepository", create)
        or aws.call("ecr:DescribeRepositories", describe)
    )


def registry_login(session: Any) -> tuple[str, str, str]:
    """``(registry host, username, password)`` from an ECR authorization token (valid 12 hours)."""
    ecr = session.client("ecr")
    data = aws.call("ecr:GetAuthorizationToken", ecr.get_authorization_token)["authorizationData"][0]
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    registry = data["proxyEndpoint"].removeprefix("https://").removeprefix("http://").rstrip("/")
    return registry, username, password


def prepare(session: Any, org_slug: str, *, lithops_version: str, namespace: str = "") -> EcrDestination:
    """The org's repository (created if missing) and push credentials: the ECR API part of a publish."""
    name = repository_name(org_slug, aws.caller_user_id(session), lithops_version=lithops_version, namespace=namespace)
    repository_uri = ensure_repository(session, name)
    registry, username, password = registry_login(session)
    return EcrDestination(name, repository_uri, registry, username, password)


def push(client: docker.DockerClient, local_image: str, destination: EcrDestination, tag: str, log: Log) -> str:
    """Tag ``local_image`` into ``destination`` and push it; returns ``<repository_uri>:<tag>@<digest>``."""
    try:
        client.images.get(local_image).tag(destination.repository_uri, tag)
    except docker.errors.ImageNotFound as exc:
        raise PyrunError(
            "runtime:platform:docker-push-failed", image=local_image, detail="the built image is gone"
        ) from exc
    digest = push_image(client, destination.repository_uri, tag, log, auth_config=destination.auth_config)
    return f"{destination.image_uri(tag)}@{digest}"


class EcrPublisher:
    """Target ``image``: the Docker builder's image goes to the org's ECR repository."""

    name = "image"

    def publish(self, ctx: BuildContext, result: BuildResult) -> BuildResult:
        from runtimes.builders.docker import docker_client

        lithops_version = result.extra.get("lithops_version", "")
        if not lithops_version:
            raise PyrunError("runtime:user:lambda-needs-lithops")
        runtime, account = org_cloud_account(ctx.runtime_id, self.name)
        local_image = result.extra.get("tagged") or result.image_uri
        tag = local_image.rsplit(":", 1)[-1]
        destination = prepare(aws.session_for(account), runtime.org.slug, lithops_version=lithops_version)
        ctx.log(f"ECR repository {destination.repository_uri}")
        client = docker_client()
        try:
            image_uri = push(client, local_image, destination, tag, ctx.log)
        finally:
            client.close()
        result.extra.update(
            built_image=result.image_uri,
            ecr_repository=destination.repository_name,
            lithops_runtime=lithops_runtime_name(runtime.org.slug, tag),
            cloud_account_id=account.pk,
        )
        result.image_uri = image_uri
        return result
