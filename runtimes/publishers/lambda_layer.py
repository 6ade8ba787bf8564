"""Publish a local runtime's site-packages as an AWS Lambda layer that Lithops' aws_lambda backend attaches.

Lithops 3.8 (``lithops/serverless/backends/aws_lambda/aws_lambda.py``) deploys a layer-based runtime only when
the runtime name equals ``default-runtime-v<py major><py minor>`` of the interpreter running the job
(``deploy_runtime``), and before building its own layer it looks for an existing one named::

    lithops_v<lithops version without dots>_<user_key>[_<namespace>]_<runtime name>_layer

where ``user_key`` is the last 4 characters of STS ``UserId`` (before any ``:``), lower-cased, and
``namespace`` is ``aws_lambda.namespace`` of the Lithops config. One runtime, one namespace: each runtime
gets its own layer (and Lithops its own functions) while the runtime name stays the one Lithops requires.
The Lithops version is the one installed in the runtime (the job imports that one), not the platform's.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import aws
from runtimes.builders.base import BuildContext, BuildResult

Log = Callable[[str], None]

# AWS Lambda: a function and all its layers, unzipped, may not exceed 250 MB (262,144,000 bytes).
LAYER_UNZIPPED_LIMIT = 250 * 1024 * 1024
# The Python versions Lithops 3.8 can deploy on Lambda (its aws_lambda config.AVAILABLE_PY_RUNTIMES).
LAMBDA_PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
S3_PREFIX = "pyrun/lambda-layers"
_SKIPPED_DIRS = {"__pycache__"}  # as Lithops' own layer builder: Lambda compiles on import anyway


@dataclass(frozen=True)
class LayerPublication:
    layer_version_arn: str
    layer_name: str
    version: int
    runtime_name: str  # aws_lambda.runtime of the Lithops config
    namespace: str  # aws_lambda.namespace of the Lithops config
    lithops_version: str
    unzipped_bytes: int


def short_python(version: str) -> str:
    """``"3.11.7"`` → ``"3.11"``."""
    return ".".join(version.split(".")[:2])


def lithops_runtime_name(python_version: str) -> str:
    """The runtime name Lithops deploys from a layer: ``default-runtime-v311`` for Python 3.11.x."""
    return f"default-runtime-v{short_python(python_version).replace('.', '')}"


def lithops_user_key(aws_user_id: str) -> str:
    """What Lithops names its AWS resources after: ``AIDAEXAMPLEABCD`` → ``abcd``, ``AROA…WXYZ:session`` → ``wxyz``."""
    return aws_user_id.split(":")[0][-4:].lower()


def lithops_layer_names(
    python_version: str, aws_user_id: str, *, namespace: str = "", lithops_version: str = "3.8.0"
) -> tuple[str, str]:
    """``(runtime_name, layer_name)``: the Lithops config's ``aws_lambda.runtime`` and the layer it will attach."""
    runtime_name = lithops_runtime_name(python_version)
    package = f"lithops_v{lithops_version.replace('.', '')}_{lithops_user_key(aws_user_id)}"
    if namespace:
        package = f"{package}_{namespace}"
    return runtime_name, f"{package}_{runtime_name}_layer"


def runtime_namespace(spec_hash: str) -> str:
    # Lithops prefixes its function names with "<namespace>-": 64 characters allow a namespace of at most 29.
    return f"pyrun-{spec_hash[:12]}"


def site_packages(prefix: Path, python_version: str) -> Path:
    """``<prefix>/lib/python3.X/site-packages`` of a venv or conda prefix."""
    found = prefix / "lib" / f"python{short_python(python_version)}" / "site-packages"
    if found.is_dir():
        return found
    candidates = sorted(prefix.glob("lib/python3*/site-packages"))
    if len(candidates) == 1:
        return candidates[0]
    raise FileNotFoundError(f"no site-packages for Python {python_version} under {prefix}")


def installed_version(packages_dir: Path, name: str) -> str:
    """The version of distribution ``name`` in ``packages_dir``, from its ``.dist-info`` ("" if absent)."""
    wanted = re.sub(r"[-_.]+", "_", name).lower()
    for info in packages_dir.glob("*.dist-info"):
        dist, _, version = info.name[: -len(".dist-info")].partition("-")
        if re.sub(r"[-_.]+", "_", dist).lower() == wanted:
            return version
    return ""


def _layer_files(packages_dir: Path) -> Iterator[tuple[Path, str, int]]:
    """``(path, name in the zip, size)`` of every file the layer gets; sizes are apparent (a sparse file
    counts fully: Lambda unpacks it fully)."""
    for root, dirs, files in os.walk(packages_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(root, name)
            try:
                size = path.stat().st_size
            except OSError:
                continue  # a dangling symlink: nothing to ship
            yield path, "python/" + path.relative_to(packages_dir).as_posix(), size


def unzipped_size(packages_dir: Path) -> int:
    return sum(size for _path, _name, size in _layer_files(packages_dir))


def check_size(packages_dir: Path) -> int:
    """The layer's unzipped size, or ``runtime:user:layer-too-large`` over Lambda's limit."""
    size = unzipped_size(packages_dir)
    if size > LAYER_UNZIPPED_LIMIT:
        raise PyrunError(
            "runtime:user:layer-too-large",
            size_mb=round(size / 1024 / 1024, 1),
            limit_mb=LAYER_UNZIPPED_LIMIT // 1024 // 1024,
        )
    return size


def write_layer_zip(packages_dir: Path, destination: Path) -> str:
    """Zip ``packages_dir`` under ``python/`` (where Lambda's Python runtimes look in a layer); returns its sha256."""
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path, name, _size in _layer_files(packages_dir):
            archive.write(path, name)
    digest = hashlib.sha256()
    with destination.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish_layer(
    account: Any,
    packages_dir: Path,
    *,
    python_version: str,
    namespace: str,
    log: Log = lambda line: None,
    session: Any = None,
) -> LayerPublication:
    """Publish ``packages_dir`` as the Lithops layer of ``namespace`` in ``account`` (a ``CloudAccount``).

    Everything that can fail on the user's side (Python, lithops, size, bucket) is checked before any upload.
    """
    python = short_python(python_version)
    if python not in LAMBDA_PYTHONS:
        raise PyrunError("runtime:user:layer-python-unsupported", python=python, supported=", ".join(LAMBDA_PYTHONS))
    lithops_version = installed_version(packages_dir, "lithops")
    if not lithops_version:
        raise PyrunError("runtime:user:lambda-needs-lithops")
    size = check_size(packages_dir)
    if not account.bucket:
        raise PyrunError("runtime:user:layer-needs-bucket", account=account.name)
    session = session or aws.session_for(account)
    user_id = aws.caller_user_id(session)
    runtime_name, layer_name = lithops_layer_names(
        python, user_id, namespace=namespace, lithops_version=lithops_version
    )
    log(f"layer {layer_name}: {size / 1024 / 1024:.1f} MB unzipped (limit {LAYER_UNZIPPED_LIMIT // 1024 // 1024} MB)")
    s3 = session.client("s3")
    lambda_client = session.client("lambda")
    with tempfile.TemporaryDirectory(prefix="pyrun-layer-") as tmp:
        archive = Path(tmp, "layer.zip")
        digest = write_layer_zip(packages_dir, archive)
        key = f"{S3_PREFIX}/{layer_name}/{digest[:16]}.zip"
        log(f"uploading {archive.stat().st_size / 1024 / 1024:.1f} MB zip to s3://{account.bucket}/{key}")
        aws.call("s3:PutObject", lambda: s3.upload_file(str(archive), account.bucket, key))
    try:
        response = aws.call(
            "lambda:PublishLayerVersion",
            lambda: lambda_client.publish_layer_version(
                LayerName=layer_name,
                Description=f"PyRun runtime {namespace}: Python {python}, lithops {lithops_version}",
                Content={"S3Bucket": account.bucket, "S3Key": key},
                CompatibleRuntimes=[f"python{python}"],
                CompatibleArchitectures=["x86_64"],
            ),
        )
    finally:
        # Lambda keeps its own copy of a published layer: the upload is only a staging area.
        aws.call("s3:DeleteObject", lambda: s3.delete_object(Bucket=account.bucket, Key=key))
    log(f"published {response['LayerVersionArn']}")
    return LayerPublication(
        layer_version_arn=response["LayerVersionArn"],
        layer_name=layer_name,
        version=int(response["Version"]),
        runtime_name=runtime_name,
        namespace=namespace,
        lithops_version=lithops_version,
        unzipped_bytes=size,
    )


def org_cloud_account(runtime_id: int, target: str) -> tuple[Any, Any]:
    """``(runtime, cloud account)`` a publish acts for: the runtime's org's account (the first by name)."""
    from pyrun_web.tenancy.models import CloudAccount
    from runtimes.models import Runtime

    runtime = Runtime.objects.select_related("org").get(pk=runtime_id)
    account = CloudAccount.objects.for_org(runtime.org).order_by("name", "pk").first()
    if account is None:
        raise PyrunError("runtime:user:cloud-account-required", target=target)
    return runtime, account


class LambdaLayerPublisher:
    """Target ``lambda-layer``: the built local prefix's site-packages become the runtime's Lithops layer."""

    name = "lambda-layer"

    def publish(self, ctx: BuildContext, result: BuildResult) -> BuildResult:
        runtime, account = org_cloud_account(ctx.runtime_id, self.name)
        packages_dir = site_packages(Path(result.prefix or ctx.prefix), result.python_version)
        published = publish_layer(
            account,
            packages_dir,
            python_version=result.python_version,
            namespace=runtime_namespace(runtime.spec_hash),
            log=ctx.log,
        )
        result.extra.update(
            layer_arns=[published.layer_version_arn],
            layer_name=published.layer_name,
            lithops_runtime=published.runtime_name,
            lithops_namespace=published.namespace,
            lithops_version=published.lithops_version,
            cloud_account_id=account.pk,
        )
        return result
