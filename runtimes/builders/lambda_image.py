"""Make a user's image a Lithops runtime for AWS Lambda: a derived image that AWS can start as a function.

A Lambda container image needs a Runtime Interface Client (``awslambdaric``) as its entry point and a handler
as its command; Lithops' functions use its ``aws_lambda`` entry point, and its workers reach S3 with boto3.
The derived image adds only what is missing and takes the handler from the Lithops the image already has, so
the function, and the job's client that runs in the same image's filesystem, have exactly one Python and one
Lithops, which Lithops insists on (``_verify_runtime_meta``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import docker

from pyrun_web.errors import PyrunError
from runtimes.builders.base import BuildContext

# Pinned, like every dependency of the platform; installed only when the image lacks the module.
ADDITIONS = {"awslambdaric": "awslambdaric==4.2.2", "boto3": "boto3==1.44.8"}
HANDLER = "lithops.serverless.backends.aws_lambda.entry_point.lambda_handler"
FUNCTION_DIR = "/function"  # the Lambda task root


def dockerfile(base: str, python: str) -> str:
    """The derived image's Dockerfile (``python``: the image's interpreter, an absolute path)."""
    lines = [f"FROM {base}", "USER root", f"WORKDIR {FUNCTION_DIR}"]
    for module, requirement in ADDITIONS.items():
        # PIP_BREAK_SYSTEM_PACKAGES: an image may run a distribution's Python, which refuses pip installs.
        lines.append(
            f'RUN {python} -c "import {module}" 2>/dev/null || '
            f"PIP_BREAK_SYSTEM_PACKAGES=1 {python} -m pip install --no-cache-dir {requirement}"
        )
    lines.append(f'RUN {python} -c "import awslambdaric, boto3, {HANDLER.rsplit(".", 1)[0]}"')
    lines.append(f"ENTRYPOINT {json.dumps([python, '-m', 'awslambdaric'])}")
    lines.append(f"CMD {json.dumps([HANDLER])}")
    return "\n".join(lines) + "\n"


def lambda_tag(image: str) -> str:
    return f"{image}-lambda"


def derive(client: docker.DockerClient, ctx: BuildContext, image: str, probe: dict[str, Any]) -> str:
    """Build the Lambda-ready image on top of ``image``; returns its tag."""
    from runtimes.builders.docker import BuildStream

    if not probe.get("lithops"):
        raise PyrunError("runtime:user:lambda-needs-lithops")
    derived = lambda_tag(image)
    with tempfile.TemporaryDirectory(prefix="pyrun-lambda-image-") as context:
        text = dockerfile(image, probe["executable"])
        Path(context, "Dockerfile").write_text(text)
        ctx.log(f"== making {image} a Lambda function image: Runtime Interface Client, Lithops handler")
        BuildStream(client, ctx, derived, {}, context_dir=Path(context)).run()
    return derived
