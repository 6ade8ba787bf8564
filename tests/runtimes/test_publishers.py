"""Publishers against moto: Lambda layers named the way Lithops' aws_lambda backend looks for them, the size
limit checked before any upload, role-based accounts through STS, and per-org ECR repositories. The image push
itself goes through the Docker builder's push path, tested against the local registry."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import boto3
import docker
import httpx
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sts.models import sts_backends

from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import aws
from pyrun_web.tenancy.models import CloudAccount
from runtimes.builders.base import BuildContext, BuildResult
from runtimes.publishers import ecr, lambda_layer
from runtimes.publishers.lambda_layer import LAYER_UNZIPPED_LIMIT, lithops_layer_names, publish_layer
from tests.conftest import make_bucket

REGION = "eu-west-1"
BUCKET = "pyrun-test-layers"
BASE_IMAGE = "pyrun/base:bookworm"
LOCAL_REGISTRY = "127.0.0.1:5000"


@pytest.fixture
def moto(aws_mock):
    make_bucket(BUCKET)
    yield


def keys_account(**fields) -> CloudAccount:
    """An access-keys account whose keys belong to a moto IAM user (so STS knows its user id)."""
    iam = boto3.client("iam")
    iam.create_user(UserName="pyrun-publisher")
    key = iam.create_access_key(UserName="pyrun-publisher")["AccessKey"]
    values = {"name": "lab", "region": REGION, "bucket": BUCKET, "auth_type": "access_keys"}
    values.update(access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"], **fields)
    return CloudAccount(**values)


def role_account(org, external_id: str = "") -> tuple[CloudAccount, str]:
    """A role account of ``org`` (``external_id`` is the old tenant-typed field, which AssumeRole no longer uses)."""
    role = boto3.client("iam").create_role(RoleName="pyrun-publisher", AssumeRolePolicyDocument="{}")["Role"]
    account = CloudAccount(
        org=org, name="role", region=REGION, bucket=BUCKET, auth_type="role", role_arn=role["Arn"],
        external_id=external_id,
    )  # fmt: skip
    return account, role["RoleId"]


def user_id_of(account: CloudAccount) -> str:
    return aws.caller_user_id(aws.session_for(account))


@pytest.fixture
def site_packages(tmp_path) -> Path:
    """A tiny runtime prefix: one package, lithops' dist-info, and bytecode that must stay out of the layer."""
    packages = tmp_path / "prefix" / "lib" / "python3.11" / "site-packages"
    (packages / "tinypkg" / "__pycache__").mkdir(parents=True)
    (packages / "tinypkg" / "__init__.py").write_text("VALUE = 42\n")
    (packages / "tinypkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0" * 64)
    (packages / "lithops-3.8.0.dist-info").mkdir()
    (packages / "lithops-3.8.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: lithops\nVersion: 3.8.0\n"
    )
    return packages


def lithops_backend(account: CloudAccount, namespace: str = ""):
    """Lithops 3.8's own aws_lambda backend, on moto, acting as ``account`` (what a job would run)."""
    from lithops.serverless.backends.aws_lambda.aws_lambda import AWSLambdaBackend

    session = aws.session_for(account)
    credentials = session.get_credentials().get_frozen_credentials()
    config = {
        "user_agent": "pyrun-test",
        "region": REGION,
        "execution_role": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/lithops",
        "access_key_id": credentials.access_key,
        "secret_access_key": credentials.secret_key,
        "session_token": credentials.token,
    }
    if namespace:
        config["namespace"] = namespace
    return AWSLambdaBackend(config, internal_storage=None)


def make_runtime(tenants, spec_hash: str, target: str):
    from runtimes.models import Runtime

    kind = "docker" if target == "image" else "conda"
    return Runtime.objects.create(org=tenants.org, spec_hash=spec_hash, kind=kind, target=target, state="building")


def bucket_keys() -> list[str]:
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listing.get("Contents", [])]


# --- Lambda layer names ----------------------------------------------------------------------------------


def test_layer_names_are_the_ones_lithops_builds(moto):
    account = keys_account()
    for namespace in ("", "pyrun-0123456789ab"):
        backend = lithops_backend(account, namespace)
        runtime_name = backend._get_default_runtime_name()  # the job's (here: this test's) Python
        python = f"{runtime_name[-3]}.{runtime_name[-2:]}.4"
        assert lithops_layer_names(python, backend.user_id, namespace=namespace) == (
            runtime_name,
            backend._format_layer_name(runtime_name),
        )


def test_layer_names_use_the_role_id_of_an_assumed_role():
    runtime_name, layer_name = lithops_layer_names("3.12.1", "AROAEXAMPLEROLEWXYZ:pyrun-session", namespace="pyrun-x")
    assert runtime_name == "default-runtime-v312"
    assert layer_name == "lithops_v380_wxyz_pyrun-x_default-runtime-v312_layer"
    assert lambda_layer.runtime_namespace("f" * 64) == "pyrun-ffffffffffff"


# --- publishing --------------------------------------------------------------------------------------------


def test_publishes_site_packages_as_the_layer_lithops_attaches(moto, site_packages):
    account = keys_account()
    lines: list[str] = []

    published = publish_layer(
        account, site_packages, python_version="3.11.4", namespace="pyrun-0123456789ab", log=lines.append
    )

    key = user_id_of(account).split(":")[0][-4:].lower()
    layer_name = f"lithops_v380_{key}_pyrun-0123456789ab_default-runtime-v311_layer"
    assert re.fullmatch(rf"arn:aws:lambda:{REGION}:\d{{12}}:layer:{layer_name}:1", published.layer_version_arn)
    assert (published.layer_name, published.runtime_name, published.version) == (layer_name, "default-runtime-v311", 1)
    assert published.lithops_version == "3.8.0"
    version = boto3.client("lambda", region_name=REGION).get_layer_version(LayerName=layer_name, VersionNumber=1)
    assert version["CompatibleRuntimes"] == ["python3.11"]
    assert bucket_keys() == []  # the upload was staging only
    assert any("MB unzipped" in line for line in lines) and lines[-1] == f"published {published.layer_version_arn}"

    # Lithops, configured with the same account and namespace, finds this layer instead of building its own.
    backend = lithops_backend(account, "pyrun-0123456789ab")
    assert backend._get_layer("default-runtime-v311") == published.layer_version_arn

    # Publishing again makes a new version, and that is the one Lithops attaches.
    again = publish_layer(account, site_packages, python_version="3.11.4", namespace="pyrun-0123456789ab")
    assert again.version == 2
    assert backend._get_layer("default-runtime-v311") == again.layer_version_arn


def test_layer_zip_puts_packages_under_python_without_bytecode(site_packages, tmp_path):
    archive = tmp_path / "layer.zip"
    lambda_layer.write_layer_zip(site_packages, archive)
    with zipfile.ZipFile(archive) as opened:
        names = sorted(opened.namelist())
        assert names == ["python/lithops-3.8.0.dist-info/METADATA", "python/tinypkg/__init__.py"]
        assert opened.read("python/tinypkg/__init__.py") == b"VALUE = 42\n"


def test_oversize_layer_fails_before_any_upload(moto, site_packages):
    account = keys_account()
    big = site_packages / "bigdata" / "blob.bin"
    big.parent.mkdir()
    with big.open("wb"):
        pass
    os.truncate(big, LAYER_UNZIPPED_LIMIT + 1024 * 1024)  # sparse: apparent size over the limit, no disk used
    session = aws.session_for(account)
    calls: list[str] = []
    session.events.register("before-call", lambda event_name, **kwargs: calls.append(event_name))

    with pytest.raises(PyrunError) as raised:
        publish_layer(account, site_packages, python_version="3.11.4", namespace="pyrun-big", session=session)

    error = raised.value
    assert error.id == "runtime:user:layer-too-large"
    assert error.is_user_fault
    assert "251.0 MB" in error.message and "250 MB" in error.message and ".pyrun/Dockerfile" in error.message
    assert calls == []  # not even STS: nothing was sent to AWS
    assert bucket_keys() == []
    assert boto3.client("lambda", region_name=REGION).list_layers()["Layers"] == []


def test_checks_python_and_lithops_before_anything_else(moto, site_packages):
    account = keys_account()
    with pytest.raises(PyrunError) as raised:
        publish_layer(account, site_packages, python_version="3.9.18", namespace="pyrun-old")
    assert raised.value.id == "runtime:user:layer-python-unsupported"
    assert "3.9" in raised.value.message and "3.11" in raised.value.message

    for path in (site_packages / "lithops-3.8.0.dist-info").iterdir():
        path.unlink()
    (site_packages / "lithops-3.8.0.dist-info").rmdir()
    with pytest.raises(PyrunError) as raised:
        publish_layer(account, site_packages, python_version="3.11.4", namespace="pyrun-nolithops")
    assert raised.value.id == "runtime:user:lambda-needs-lithops"
    assert bucket_keys() == []


def test_role_account_assumes_its_role_with_the_orgs_platform_external_id(moto, site_packages, tenants):
    # A value in the old tenant-typed field never reaches STS: the org's platform id does.
    account, role_id = role_account(tenants.org, "tenant-chosen-id")

    user_id = user_id_of(account)

    assert user_id.startswith(f"{role_id}:pyrun-runtimes")
    assumed = sts_backends[DEFAULT_ACCOUNT_ID]["global"].assumed_roles[-1]
    assert (assumed.role_arn, assumed.external_id) == (account.role_arn, tenants.org.aws_external_id)
    assert tenants.org.aws_external_id.startswith("pyrun-")
    published = publish_layer(account, site_packages, python_version="3.11.4", namespace="pyrun-role")
    assert f":layer:lithops_v380_{role_id[-4:].lower()}_pyrun-role_default-runtime-v311_layer:1" in (
        published.layer_version_arn
    )


def test_layer_publisher_fills_the_build_result(moto, site_packages, tenants):
    account = keys_account(org=tenants.org)
    account.save()
    runtime = make_runtime(tenants, "ab" * 32, "lambda-layer")
    ctx = BuildContext(runtime_id=runtime.pk, spec=None, prefix=site_packages.parents[2], context_dir=Path("/"),
                       log=lambda line: None, target="lambda-layer")  # fmt: skip
    result = BuildResult(python_version="3.11.4", prefix=str(site_packages.parents[2]))

    result = lambda_layer.LambdaLayerPublisher().publish(ctx, result)

    assert len(result.extra["layer_arns"]) == 1
    assert result.extra["lithops_runtime"] == "default-runtime-v311"
    assert result.extra["lithops_namespace"] == "pyrun-abababababab"
    assert result.extra["layer_arns"][0].endswith(f":{result.extra['layer_name']}:1")
    assert result.extra["cloud_account_id"] == account.pk


def test_layer_publisher_needs_a_cloud_account(moto, site_packages, tenants):
    runtime = make_runtime(tenants, "cd" * 32, "lambda-layer")
    ctx = BuildContext(runtime_id=runtime.pk, spec=None, prefix=site_packages, context_dir=Path("/"), log=print)
    with pytest.raises(PyrunError) as raised:
        lambda_layer.LambdaLayerPublisher().publish(ctx, BuildResult(python_version="3.11.4"))
    assert raised.value.id == "runtime:user:cloud-account-required"


# --- ECR ------------------------------------------------------------------------------------------------


def test_ecr_repository_per_org_created_once_and_named_for_lithops(moto):
    account = keys_account()
    session = aws.session_for(account)
    key = user_id_of(account).split(":")[0][-4:].lower()

    first = ecr.prepare(session, "acme-research", lithops_version="3.8.0")
    second = ecr.prepare(session, "acme-research", lithops_version="3.8.0")
    other = ecr.prepare(session, "globex", lithops_version="3.8.0")

    registry = f"{DEFAULT_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"
    assert first.repository_name == f"lithops_v380_{key}/pyrun-acme-research"
    assert first.repository_uri == f"{registry}/lithops_v380_{key}/pyrun-acme-research"
    assert first.image_uri("rt7-abc") == f"{first.repository_uri}:rt7-abc"
    assert (first.registry, first.username) == (registry, "AWS")
    assert first.password and first.password not in repr(first)
    assert second.repository_uri == first.repository_uri
    assert other.repository_name == f"lithops_v380_{key}/pyrun-globex"
    names = [r["repositoryName"] for r in session.client("ecr").describe_repositories()["repositories"]]
    assert sorted(names) == sorted([first.repository_name, other.repository_name])
    # Lithops looks the runtime up in exactly that repository.
    backend = lithops_backend(account)
    runtime_name = ecr.lithops_runtime_name("acme-research", "rt7-abc")
    assert backend._is_container_runtime(runtime_name)
    assert backend._format_repo_name(runtime_name.split(":")[0]) == first.repository_name


def docker_with_registry_or_skip() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
        client.images.get(BASE_IMAGE)
        httpx.get(f"http://{LOCAL_REGISTRY}/v2/", timeout=5).raise_for_status()
    except Exception as exc:  # any failure means: no usable Docker setup here
        pytest.skip(
            f"needs dockerd, {BASE_IMAGE} and a registry on {LOCAL_REGISTRY} (scripts/docker-test-env.sh): {exc}"
        )
    return client


@pytest.mark.slow
def test_ecr_publisher_pushes_through_the_docker_push_path(moto, tenants, monkeypatch, settings):
    """moto has no registry behind its ECR API: the publisher's API part runs on moto, and its push goes to
    the local registry under the same repository name."""
    client = docker_with_registry_or_skip()
    settings.PYRUN_DOCKER_HOST = ""
    account = keys_account(org=tenants.org)
    account.save()
    runtime = make_runtime(tenants, "ef" * 32, "image")
    real_prepare = ecr.prepare

    def prepare_on_local_registry(session, org_slug, **kwargs):
        destination = real_prepare(session, org_slug, **kwargs)
        return ecr.EcrDestination(
            repository_name=destination.repository_name,
            repository_uri=f"{LOCAL_REGISTRY}/{destination.repository_name}",
            registry=LOCAL_REGISTRY,
            username=destination.username,
            password=destination.password,
        )

    monkeypatch.setattr(ecr, "prepare", prepare_on_local_registry)
    tag = f"rt{runtime.pk}-test"
    local = f"pyrun-test/runtimes:{tag}"
    client.images.get(BASE_IMAGE).tag("pyrun-test/runtimes", tag)
    lines: list[str] = []
    ctx = BuildContext(runtime_id=runtime.pk, spec=None, prefix=Path("/"), context_dir=Path("/"), log=lines.append)
    built = BuildResult(python_version="3.11.2", image_uri=local, extra={"tagged": local, "lithops_version": "3.8.0"})
    try:
        result = ecr.EcrPublisher().publish(ctx, built)
    finally:
        client.images.remove(local)

    name = result.extra["ecr_repository"]
    assert re.fullmatch(r"lithops_v380_[a-z0-9]{4}/pyrun-acme-research", name)
    assert re.fullmatch(rf"{LOCAL_REGISTRY}/{name}:{tag}@sha256:[0-9a-f]{{64}}", result.image_uri)
    assert result.extra["lithops_runtime"] == f"pyrun-acme-research:{tag}"
    assert result.extra["built_image"] == local
    assert f"$ docker push {LOCAL_REGISTRY}/{name}:{tag}" in lines
    manifest = httpx.get(
        f"http://{LOCAL_REGISTRY}/v2/{name}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    assert manifest.headers["Docker-Content-Digest"] == result.image_uri.rsplit("@", 1)[1]
    client.images.remove(f"{LOCAL_REGISTRY}/{name}:{tag}")
    client.close()


def test_ecr_publisher_needs_lithops_in_the_image(moto, tenants):
    runtime = make_runtime(tenants, "ef" * 32, "image")
    ctx = BuildContext(runtime_id=runtime.pk, spec=None, prefix=Path("/"), context_dir=Path("/"), log=print)
    built = BuildResult(python_version="3.11.2", image_uri="x:rt1", extra={"tagged": "x:rt1", "lithops_version": ""})
    with pytest.raises(PyrunError) as raised:
        ecr.EcrPublisher().publish(ctx, built)
    assert raised.value.id == "runtime:user:lambda-needs-lithops"
