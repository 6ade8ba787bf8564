"""A workspace whose runtime is a `.pyrun/Dockerfile`: the worker builds the image, unpacks it, and the job runs in
the image's filesystem (its Python, its packages, its ENV) inside the sandbox, monitored like any other run."""

from __future__ import annotations

import contextlib

import distributed
import docker
import docker.errors
import pytest

from monitoring.models import TaskEvent
from runtimes.models import Runtime
from templates_lib.registry import TEMPLATES
from tests.jobs.conftest import make_workspace, read_logs, start_run, wait_for
from tests.runtimes.test_docker_builder import BASE_IMAGE, docker_or_skip
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow

DOCKERFILE = f"""FROM {BASE_IMAGE}
ARG LITHOPS
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH GREETING="hello from the image"
RUN pip install --no-cache-dir $LITHOPS
RUN echo "baked into the image" > /etc/pyrun-marker
"""

SCRIPT = """
import os, platform, sys
import lithops

print("python", sys.executable, platform.python_version())
print("marker:", open("/etc/pyrun-marker").read().strip())
print("greeting:", os.environ["GREETING"])
print("host home visible:", os.path.exists("/root/.pyenv"))
try:
    open("/etc/written-by-the-job", "w")
except OSError as exc:
    print("root is read-only:", exc.__class__.__name__)
with lithops.FunctionExecutor() as executor:
    print("cubes:", executor.get_result(executor.map(lambda x: x ** 3, range(6))))
"""


@pytest.fixture
def image_cleanup():
    client = docker_or_skip()
    runtimes: list[int] = []
    yield runtimes
    for runtime_id in runtimes:  # in whichever org's repository (one per org)
        for image in client.images.list(filters={"reference": f"pyrun/runtimes-org*:rt{runtime_id}*"}):
            for tag in image.tags:
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(tag, force=True)
    client.close()


class TestImageRuns(TenantTest):
    def run_to_success(self, workspace, entrypoint: str, backend: str, built: list[int]) -> tuple[dict, str, str]:
        """Run ``entrypoint`` (the first run builds the image); the finished job, its stdout and the rest."""
        job = start_run(self.api("member"), workspace.pk, entrypoint, backend=backend)
        done = wait_for(self.api("viewer"), job["id"], timeout=600)
        built.append(done["runtime"])
        chunks, _ = read_logs(self.api("viewer"), job["id"])
        stdout = "".join(c["text"] for c in chunks if c["stream"] == "stdout")
        others = "".join(c["text"] for c in chunks if c["stream"] != "stdout")
        assert done["state"] == "succeeded", (stdout, others)
        return done, stdout, others

    def test_a_dockerfile_workspace_runs_lithops_in_its_image(self, jobs_worker, image_cleanup):
        workspace = make_workspace(self.t, {".pyrun/Dockerfile": DOCKERFILE, "cubes.py": SCRIPT})

        done, stdout, others = self.run_to_success(workspace, "cubes.py", "lithops-localhost", image_cleanup)

        runtime = Runtime.objects.get(pk=done["runtime"])
        assert runtime.kind == "docker" and runtime.target == "local"
        assert f"python /opt/venv/bin/python {runtime.python_version}\n" in stdout  # the image's, not the host's
        assert "marker: baked into the image\n" in stdout
        assert "greeting: hello from the image\n" in stdout
        assert "host home visible: False\n" in stdout
        assert "root is read-only: OSError\n" in stdout
        assert "cubes: [0, 1, 8, 27, 64, 125]\n" in stdout
        assert f"unpacking the filesystem of pyrun/runtimes-org{self.t.org.pk}:rt" in others  # the build, as it went
        finished = TaskEvent.objects.filter(job_id=done["id"], framework="lithops", status="finished")
        assert finished.count() == 6  # the monitoring agent works inside the image too

        # Deleting the runtime takes its unpacked filesystem and its image with it.
        rootfs, tag = runtime.build_dir, runtime.extra["tagged"]
        assert rootfs is not None and (rootfs / "etc/pyrun-marker").exists()
        runtime.delete()
        assert not rootfs.exists()
        with pytest.raises(docker.errors.ImageNotFound):
            docker.from_env().images.get(tag)

    def test_a_dockerfile_workspace_runs_the_dask_template_on_dask_local(self, jobs_worker, image_cleanup):
        # The dask the platform's agent is tested with (uv.lock), into the image's system Python.
        pin = f"dask[distributed]=={distributed.__version__}"
        dockerfile = f"FROM {BASE_IMAGE}\nRUN pip install --no-cache-dir --break-system-packages '{pin}'\n"
        example = (TEMPLATES["dask"].folder / "example.py").read_text()
        workspace = make_workspace(self.t, {".pyrun/Dockerfile": dockerfile, "example.py": example})

        done, stdout, _ = self.run_to_success(workspace, "example.py", "dask-local", image_cleanup)

        assert "total: 55\n" in stdout
        # The scheduler and worker preloads reach a LocalCluster inside the image: one compute event per task.
        compute = TaskEvent.objects.filter(job_id=done["id"], framework="dask", phase="compute")
        assert compute.filter(group="inc").count() == 10
