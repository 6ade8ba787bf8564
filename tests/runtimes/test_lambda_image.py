"""A Dockerfile runtime built for AWS Lambda: the derived image starts as a Lambda function (its Runtime Interface
Client talks to a local Runtime API, as AWS's would) and answers Lithops' metadata call with the Python and
Lithops that the job's client, running in the image's unpacked filesystem, has too."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import docker.errors
import pytest

from pyrun_web import sandbox
from runtimes.builders import lambda_image
from runtimes.builders.base import BuildContext
from runtimes.spec import LITHOPS_PACKAGES, RuntimeSpec
from tests.runtimes.lambda_runtime_api import RuntimeApi
from tests.runtimes.test_docker_builder import BASE_IMAGE, ORG_REPOSITORY, _ids, dk  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow

# No unique label: the pip layer is shared with the other image tests through the daemon's build cache.
VENV_DOCKERFILE = f"""FROM {BASE_IMAGE}
ARG LITHOPS
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir $LITHOPS
"""


def lambda_build(tmp_path: Path, dk, lines: list[str]):  # noqa: F811
    from runtimes.builders.docker import DockerBuilder

    runtime_id = next(_ids)
    context = tmp_path / "pyrun"
    context.mkdir()
    (context / "Dockerfile").write_text(VENV_DOCKERFILE)
    spec = RuntimeSpec(kind="docker", dockerfile=VENV_DOCKERFILE, build_args={"LITHOPS": " ".join(LITHOPS_PACKAGES)})
    ctx = BuildContext(
        runtime_id=runtime_id,
        spec=spec,
        prefix=tmp_path / "rootfs",
        context_dir=context,
        log=lines.append,
        target="image",
    )
    dk.created += [f"{ORG_REPOSITORY}:rt{runtime_id}", f"{ORG_REPOSITORY}:rt{runtime_id}-lambda"]
    return DockerBuilder().build(ctx)


def invoke(client, image: str, event: dict) -> dict:
    """Start ``image`` the way AWS Lambda does and hand its Runtime Interface Client one event."""
    with RuntimeApi([event]) as api:
        container = client.containers.run(
            image,
            detach=True,
            network_mode="host",
            environment={
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "AWS_LAMBDA_FUNCTION_NAME": "lithops-worker",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
                "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/lithops-worker",
                "AWS_LAMBDA_LOG_STREAM_NAME": "local",
                "AWS_REGION": "us-east-1",
            },
        )
        try:
            answered = api.done.wait(120)
            logs = container.logs().decode(errors="replace")
        finally:
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
    assert answered, f"the function never answered: {api.results} {logs}"
    (result,) = api.results.values()
    assert "response" in result, (result, logs)
    return result["response"]


def test_a_dockerfile_runtime_for_lambda_answers_lithops_like_the_jobs_own_client(tmp_path, dk):  # noqa: F811
    lines: list[str] = []

    result = lambda_build(tmp_path, dk, lines)

    derived = result.extra["tagged"]
    assert derived.endswith("-lambda") and result.image_uri == derived
    config = dk.client.images.get(derived).attrs["Config"]
    assert config["Entrypoint"] == ["/opt/venv/bin/python", "-m", "awslambdaric"]
    assert config["Cmd"] == [lambda_image.HANDLER]
    assert any("making" in line and "Lambda function image" in line for line in lines)
    # The job side: the image's own interpreter and environment, unpacked for the sandbox.
    assert result.extra["image_python"] == "/opt/venv/bin/python"
    assert result.extra["image_env"]["PATH"].startswith("/opt/venv/bin:")
    rootfs = Path(result.prefix)
    assert (rootfs / "opt/venv/bin/python").is_symlink() or (rootfs / "opt/venv/bin/python").exists()

    meta = invoke(dk.client, derived, {"get_metadata": {}})

    assert meta["lithops_version"] == result.extra["lithops_version"] == "3.8.0"
    assert meta["python_version"] == ".".join(result.python_version.split(".")[:2])
    # Lithops' own check, run by the job's client in the image's filesystem, accepts the function.
    check = (
        "import json, sys; from lithops.invokers import _verify_runtime_meta; "
        "_verify_runtime_meta(json.loads(sys.argv[1]), 'pyrun'); print('client and function match')"
    )
    process = sandbox.popen(
        sandbox.SandboxSpec(
            argv=["/opt/venv/bin/python", "-c", check, json.dumps(meta)],
            workdir=tmp_path,
            runtime_prefixes=[],
            env=result.extra["image_env"],
            root=rootfs,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = process.communicate(timeout=120)[0]
    assert process.returncode == 0 and "client and function match" in out, out


def test_the_lambda_image_dockerfile_adds_only_what_the_image_lacks():
    text = lambda_image.dockerfile("pyrun/runtimes:rt7", "/usr/local/bin/python")

    assert text.startswith("FROM pyrun/runtimes:rt7\n")
    assert 'RUN /usr/local/bin/python -c "import awslambdaric" 2>/dev/null ||' in text
    assert f"pip install --no-cache-dir {lambda_image.ADDITIONS['awslambdaric']}" in text
    assert 'ENTRYPOINT ["/usr/local/bin/python", "-m", "awslambdaric"]' in text
    assert f'CMD ["{lambda_image.HANDLER}"]' in text
