"""Executor backends: each plan's environment really drives its executor (a real Lithops map, a real LocalCluster,
a real scheduler), the Lambda plan carries the org's credentials (an assumed role as a session, through moto) and
the runtime's layer names, and no note ever shows a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from jobs.backends import BACKENDS, backend_names, get_backend
from jobs.backends.dask_local import DaskLocal
from jobs.backends.dask_scheduler import validate_address
from monitoring.injection import dask_preload_env, inject
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import aws
from pyrun_web.tenancy.models import CloudAccount
from runtimes.models import Runtime
from runtimes.publishers.lambda_layer import lithops_layer_names
from workspaces.execution_settings import with_defaults

REGION = "eu-west-1"
BUCKET = "pyrun-test-lithops"
ROLE = "arn:aws:iam::123456789012:role/lithops-exec"
LAMBDA_SETTINGS = {
    "default_executor": "lithops-aws-lambda",
    "backend": "aws_lambda",
    "storage": "aws_s3",
    "runtime_memory": 1024,
    "runtime_timeout": 300,
    "workers": 50,
    "lambda_execution_role": ROLE,
}


def job_of(org, job_id: int = 7) -> SimpleNamespace:
    return SimpleNamespace(org=org, id=job_id)


def run_python(code: str, env: dict[str, str], tmp_path: Path, timeout: float = 120) -> str:
    """Run ``code`` with the platform interpreter in a clean environment, as the sandbox would: only the plan's
    variables plus a private HOME and TMPDIR."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    base = {"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(tmp), "LANG": "C.UTF-8"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def assert_no_secrets(notes: list[str], *secrets: str) -> None:
    shown = "\n".join(notes)
    for secret in secrets:
        assert secret and secret not in shown


# --- Registry ------------------------------------------------------------------------------------------------


def test_every_registered_backend_loads_with_its_name_and_target():
    targets = {}
    for name in BACKENDS:
        backend = get_backend(name)
        assert backend.name == name
        targets[name] = backend.target
    assert targets == {
        "lithops-localhost": "local",
        "lithops-aws-lambda": "lambda-layer",
        "dask-local": "local",
        "dask-scheduler": "local",
    }


def test_an_unknown_backend_is_a_user_error_listing_the_choices():
    with pytest.raises(PyrunError) as caught:
        get_backend("spark")
    assert caught.value.id == "job:user:bad-backend"
    assert caught.value.is_user_fault
    assert "'spark'" in caught.value.message
    assert "dask-local, dask-scheduler, lithops-aws-lambda, lithops-localhost" in caught.value.message


def test_operators_add_backends_but_cannot_replace_built_in_ones(settings):
    settings.PYRUN_EXTRA_BACKENDS = {
        "my-dask": "jobs.backends.dask_local.DaskLocal",
        "dask-local": "jobs.backends.dask_scheduler.DaskScheduler",
        "broken": "no_such_package.Backend",
    }
    assert "my-dask" in backend_names()
    assert isinstance(get_backend("my-dask"), DaskLocal)
    assert isinstance(get_backend("dask-local"), DaskLocal)
    with pytest.raises(PyrunError) as caught:
        get_backend("broken")
    assert caught.value.id == "job:platform:backend-unavailable"


# --- lithops-localhost ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lithops_localhost_config_runs_a_real_map(tenants, tmp_path):
    settings = with_defaults({"workers": 2, "log_level": "WARNING"})
    plan = get_backend("lithops-localhost").plan(
        job=job_of(tenants.org), runtime=None, interpreter=sys.executable, settings=settings
    )
    config = json.loads(plan.env["LITHOPS_CONFIG"])
    assert config["lithops"]["backend"] == config["lithops"]["storage"] == "localhost"
    assert config["localhost"] == {"runtime": sys.executable, "version": 1, "worker_processes": 2}
    assert set(plan.env) == {"LITHOPS_CONFIG"}
    assert plan.notes[0] == "Lithops localhost (v1), 2 worker processes"

    out = run_python(
        """
        import json
        from lithops import FunctionExecutor
        executor = FunctionExecutor()
        print(json.dumps(executor.get_result(executor.map(lambda x: x * x, range(10)))))
        """,
        plan.env,
        tmp_path,
    )
    assert json.loads(out.strip().splitlines()[-1]) == [x * x for x in range(10)]
    # Everything Lithops wrote stayed in the job's own TMPDIR and HOME.
    assert any(p.name.startswith("lithops-") for p in (tmp_path / "tmp").iterdir())


@pytest.mark.django_db
def test_lithops_localhost_defaults_to_one_worker_per_cpu(tenants):
    plan = get_backend("lithops-localhost").plan(
        job=job_of(tenants.org), runtime=None, interpreter=sys.executable, settings=with_defaults({})
    )
    assert "worker_processes" not in json.loads(plan.env["LITHOPS_CONFIG"])["localhost"]
    assert plan.notes[0] == f"Lithops localhost (v1), one worker process per CPU ({os.cpu_count()})"


# --- AWS ------------------------------------------------------------------------------------------------------


def keys_account(org, **fields) -> CloudAccount:
    values = {"name": "lab", "region": REGION, "bucket": BUCKET, "auth_type": "access_keys"}
    values.update(access_key_id="AKIAORGKEY0000001234", secret_access_key="org-secret-key-value-0123456789")
    values.update(fields)
    return CloudAccount.objects.create(org=org, **values)


def role_account(org) -> CloudAccount:
    role = boto3.client("iam").create_role(RoleName="pyrun-jobs", AssumeRolePolicyDocument="{}")["Role"]
    return CloudAccount.objects.create(
        org=org, name="role", region=REGION, bucket=BUCKET, auth_type="role", role_arn=role["Arn"]
    )


def layer_runtime(
    org, account: CloudAccount | None, python_version: str = "3.11.7", spec: str = "0", **extra
) -> Runtime:
    values = {"lithops_runtime": "default-runtime-v311", "lithops_namespace": "pyrun-0123456789ab"}
    if account is not None:
        values["cloud_account_id"] = account.pk
    values.update(extra)
    return Runtime.objects.create(
        org=org,
        spec_hash="0123456789ab" + spec * 52,
        kind="conda",
        target="lambda-layer",
        state="ready",
        python_version=python_version,
        extra=values,
    )


def lambda_plan(tenants, runtime, settings=None):
    return get_backend("lithops-aws-lambda").plan(
        job=job_of(tenants.org),
        runtime=runtime,
        interpreter="/opt/runtimes/r1/bin/python",
        settings=with_defaults(settings or LAMBDA_SETTINGS),
    )


@pytest.mark.django_db
def test_lambda_config_with_access_keys(tenants):
    account = keys_account(tenants.org)
    plan = lambda_plan(tenants, layer_runtime(tenants.org, account))
    config = json.loads(plan.env["LITHOPS_CONFIG"])
    assert config["lithops"] == {"backend": "aws_lambda", "storage": "aws_s3", "log_level": "INFO"}
    assert config["aws_lambda"] == {
        "execution_role": ROLE,
        "runtime": "default-runtime-v311",
        "namespace": "pyrun-0123456789ab",
        "runtime_memory": 1024,
        "runtime_timeout": 300,
        "max_workers": 50,
    }
    assert config["aws"] == {
        "region": REGION,
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    assert config["aws_s3"] == {"storage_bucket": BUCKET, "region": REGION}
    assert plan.env["AWS_ACCESS_KEY_ID"] == account.access_key_id
    assert plan.env["AWS_SECRET_ACCESS_KEY"] == account.secret_access_key
    assert plan.env["AWS_DEFAULT_REGION"] == REGION
    assert "AWS_SESSION_TOKEN" not in plan.env
    assert any("default-runtime-v311" in note and "pyrun-0123456789ab" in note for note in plan.notes)
    assert_no_secrets(plan.notes, account.access_key_id, account.secret_access_key)


@pytest.fixture
def sdk_env(monkeypatch):
    """Applies a plan's ``AWS_*`` environment to this process the way the job's process gets it: the platform's
    own AWS variables are not there."""

    def apply(env: dict[str, str]) -> None:
        for name in list(os.environ):
            if name.startswith("AWS_") and name not in env:
                monkeypatch.delenv(name)
        for name, value in env.items():
            if name.startswith("AWS_"):
                monkeypatch.setenv(name, value)

    return apply


@pytest.mark.django_db
def test_lambda_with_a_role_reads_a_renewable_session_that_lithops_accepts(tenants, aws_mock, sdk_env):
    from lithops.config import default_config
    from lithops.serverless.backends.aws_lambda.aws_lambda import AWSLambdaBackend

    account = role_account(tenants.org)
    plan = lambda_plan(tenants, layer_runtime(tenants.org, account))
    try:
        config = json.loads(plan.env["LITHOPS_CONFIG"])
        # No key in the config or the environment: the SDK's default chain finds the credential process.
        assert config["aws"] == {"region": REGION}
        assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(plan.env)
        (folder,) = plan.ro_binds
        assert plan.env["AWS_CONFIG_FILE"].startswith(str(folder))
        written = json.loads((folder / "credentials.json").read_text())
        assert_no_secrets(plan.notes, written["AccessKeyId"], written["SecretAccessKey"], written["SessionToken"])
        assert any(account.role_arn in note and "renewed" in note for note in plan.notes)
        sdk_env(plan.env)

        # Lithops itself takes the config, and looks for exactly the layer the publisher names for this runtime.
        full = default_config(config_data=config)
        # (Lithops' serverless handler adds user_agent before building the backend.)
        backend = AWSLambdaBackend({**full["aws_lambda"], "user_agent": "pyrun-test"}, internal_storage=None)
        assert backend.credentials.method == "custom-process"
        assert backend.credentials.access_key == written["AccessKeyId"]
        identity = backend.aws_session.client("sts").get_caller_identity()
        assert ":assumed-role/pyrun-jobs/pyrun-job-7" in identity["Arn"]
        publisher_user_id = aws.caller_user_id(aws.session_for(account))
        _, layer_name = lithops_layer_names("3.11", publisher_user_id, namespace="pyrun-0123456789ab")
        assert backend._format_layer_name(config["aws_lambda"]["runtime"]) == layer_name
    finally:
        plan.close()
    assert not folder.exists()


@pytest.mark.django_db
def test_a_role_session_is_renewed_before_it_expires_and_the_sdk_picks_the_new_one(tenants, aws_mock, sdk_env):
    account = role_account(tenants.org)
    plan = lambda_plan(tenants, layer_runtime(tenants.org, account))
    (role,) = plan.renewals
    try:
        sdk_env(plan.env)
        credentials = boto3.Session().get_credentials()
        first = credentials.get_frozen_credentials().access_key
        # Renewed 20 minutes before expiry, ahead of the SDK's own refresh (15 minutes before).
        remaining = (role.expiration - datetime.now(UTC)).total_seconds()
        assert role.seconds_until_renewal() == pytest.approx(remaining - 20 * 60, abs=5)
        assert role.seconds_until_renewal(role.expiration - timedelta(minutes=25)) == pytest.approx(5 * 60)

        role.renew()
        # The SDK re-reads the file once the expiry it knows is near (the 15-minute advisory window).
        credentials._expiry_time = datetime.now(UTC) + timedelta(minutes=14)
        renewed = credentials.get_frozen_credentials().access_key
        assert renewed != first
        assert renewed == json.loads((role.directory / "credentials.json").read_text())["AccessKeyId"]
        assert ":assumed-role/pyrun-jobs/pyrun-job-7" in boto3.Session().client("sts").get_caller_identity()["Arn"]
    finally:
        plan.close()


def image_runtime(org, account: CloudAccount, repository: str, tag: str = "rt9-lambda") -> Runtime:
    """A Dockerfile runtime as the image publisher leaves it: pushed to the org's ECR repository."""
    return Runtime.objects.create(
        org=org,
        spec_hash="fedcba987654" + "1" * 52,
        kind="docker",
        target="image",
        state="ready",
        python_version="3.11.2",
        extra={
            "ecr_repository": repository,
            "lithops_runtime": f"pyrun-{org.slug}:{tag}",
            "cloud_account_id": account.pk,
            "image_python": "/opt/venv/bin/python",
        },
    )


@pytest.mark.django_db
def test_lambda_with_an_image_runtime_deploys_the_published_image(tenants, aws_mock, sdk_env):
    """Lithops, given the plan's config, finds the image in the repository the publisher pushed to and creates
    its function from it (moto stands in for ECR and Lambda; it cannot run the function)."""
    from lithops.config import default_config
    from lithops.serverless.backends.aws_lambda.aws_lambda import AWSLambdaBackend

    from runtimes.publishers import ecr

    account = keys_account(tenants.org)
    destination = ecr.prepare(aws.session_for(account), tenants.org.slug, lithops_version="3.8.0")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
    boto3.client("ecr", region_name=REGION).put_image(
        repositoryName=destination.repository_name, imageManifest=manifest, imageTag="rt9-lambda"
    )
    runtime = image_runtime(tenants.org, account, destination.repository_name)
    boto3.client("iam").create_role(RoleName=ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument="{}")

    plan = lambda_plan(tenants, runtime)

    config = json.loads(plan.env["LITHOPS_CONFIG"])
    assert config["aws_lambda"]["runtime"] == f"pyrun-{tenants.org.slug}:rt9-lambda"
    assert "namespace" not in config["aws_lambda"]  # the repository name has none
    assert any("(container image)" in note for note in plan.notes)
    sdk_env(plan.env)
    full = default_config(config_data=config)
    backend = AWSLambdaBackend({**full["aws_lambda"], "user_agent": "pyrun-test"}, internal_storage=None)
    name = config["aws_lambda"]["runtime"]
    assert backend._is_container_runtime(name)
    assert backend._format_repo_name(name) == destination.repository_name
    backend._deploy_container_runtime(name, 1024, 300)
    functions = boto3.client("lambda", region_name=REGION)
    (function,) = functions.list_functions()["Functions"]
    assert function["PackageType"] == "Image"
    assert function["MemorySize"] == 1024 and function["Role"] == ROLE
    image_uri = functions.get_function(FunctionName=function["FunctionName"])["Code"]["ImageUri"]
    assert image_uri.startswith(f"{destination.repository_uri}@sha256:"), image_uri


@pytest.mark.django_db
def test_lambda_refuses_an_image_runtime_that_was_not_pushed(tenants):
    account = keys_account(tenants.org)
    runtime = image_runtime(tenants.org, account, repository="")
    with pytest.raises(PyrunError) as caught:
        lambda_plan(tenants, runtime)
    assert caught.value.id == "job:platform:runtime-unusable"
    assert "not pushed to ECR" in caught.value.message


@pytest.mark.django_db
def test_lambda_passes_the_platform_endpoint_override_on(tenants, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    plan = lambda_plan(tenants, layer_runtime(tenants.org, keys_account(tenants.org)))
    assert plan.env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5999"
    assert "AWS endpoint: http://127.0.0.1:5999" in plan.notes


@pytest.mark.django_db
def test_lambda_without_a_cloud_account_is_a_user_error(tenants):
    with pytest.raises(PyrunError) as caught:
        lambda_plan(tenants, layer_runtime(tenants.org, None))
    assert caught.value.id == "workspaces:user:cloud-account-required"


@pytest.mark.django_db
def test_lambda_needs_the_account_the_layer_was_published_with(tenants):
    gone = keys_account(tenants.org, name="gone")
    runtime = layer_runtime(tenants.org, gone)
    gone.delete()
    keys_account(tenants.org, name="another")
    with pytest.raises(PyrunError) as caught:
        lambda_plan(tenants, runtime)
    assert caught.value.id == "job:user:layer-account-missing"


@pytest.mark.django_db
def test_another_orgs_account_is_never_used(tenants):
    foreign = keys_account(tenants.other_org)
    with pytest.raises(PyrunError) as caught:
        lambda_plan(tenants, layer_runtime(tenants.org, foreign))
    assert caught.value.id == "job:user:layer-account-missing"


@pytest.mark.django_db
def test_lambda_refuses_a_runtime_without_a_matching_layer(tenants):
    account = keys_account(tenants.org)
    unpublished = layer_runtime(tenants.org, account, lithops_runtime="")
    with pytest.raises(PyrunError) as caught:
        lambda_plan(tenants, unpublished)
    assert caught.value.id == "job:platform:runtime-unusable"
    # Lithops compares the runtime name with the job interpreter's Python: a 3.12 interpreter would not match.
    other_python = layer_runtime(tenants.org, account, python_version="3.12.1", spec="1")
    with pytest.raises(PyrunError) as caught:
        lambda_plan(tenants, other_python)
    assert caught.value.id == "job:platform:runtime-unusable"
    assert "3.12.1" in caught.value.message


@pytest.mark.django_db
def test_lambda_settings_errors_come_from_the_workspace_rules(tenants):
    runtime = layer_runtime(tenants.org, keys_account(tenants.org))
    with pytest.raises(PyrunError) as caught:
        lambda_plan(tenants, runtime, {**LAMBDA_SETTINGS, "lambda_execution_role": ""})
    assert caught.value.id == "workspaces:user:lambda-role-required"
    with pytest.raises(PyrunError) as caught:
        lambda_plan(tenants, runtime, {**LAMBDA_SETTINGS, "storage": "localhost"})
    assert caught.value.id == "workspaces:user:lambda-needs-s3"


@pytest.mark.django_db
def test_lithops_localhost_with_s3_storage_uses_the_org_account(tenants):
    settings = with_defaults({"storage": "aws_s3", "storage_bucket": "data-bucket"})
    backend = get_backend("lithops-localhost")
    with pytest.raises(PyrunError) as caught:
        backend.plan(job=job_of(tenants.org), runtime=None, interpreter=sys.executable, settings=settings)
    assert caught.value.id == "workspaces:user:cloud-account-required"
    account = keys_account(tenants.org)
    plan = backend.plan(job=job_of(tenants.org), runtime=None, interpreter=sys.executable, settings=settings)
    config = json.loads(plan.env["LITHOPS_CONFIG"])
    assert config["aws_s3"]["storage_bucket"] == "data-bucket"
    assert config["aws"]["secret_access_key"] == account.secret_access_key
    assert "Lithops storage: s3://data-bucket (eu-west-1)" in plan.notes
    assert_no_secrets(plan.notes, account.access_key_id, account.secret_access_key)


# --- Dask ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_dask_local_env_lets_a_local_cluster_start(tenants, tmp_path):
    plan = get_backend("dask-local").plan(
        job=job_of(tenants.org), runtime=None, interpreter=sys.executable, settings=with_defaults({"workers": 2})
    )
    assert plan.env == {"DASK_TEMPORARY_DIRECTORY": "/tmp", "PYRUN_DASK_WORKERS": "2"}
    scratch = tmp_path / "scratch"  # the sandbox's /tmp, on the host
    # The runner adds the agent (monitoring.injection); without a socket it loads and stays idle.
    env = {**plan.env, **inject(None).env, "DASK_TEMPORARY_DIRECTORY": str(scratch)}
    out = run_python(
        """
        import os
        import dask
        from distributed import Client, LocalCluster
        assert dask.config.get("distributed.worker.preload") == ["pyrun_agent.dask_preload"]
        workers = int(os.environ["PYRUN_DASK_WORKERS"])
        with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster:
            with Client(cluster) as client:
                print(len(client.scheduler_info()["workers"]), sum(client.gather(client.map(abs, range(-5, 5)))))
        """,
        env,
        tmp_path,
    )
    assert out.split() == ["2", "25"]
    assert scratch.is_dir()  # the workers' scratch space went where the plan said


def test_agent_preload_loads_into_scheduler_and_workers(tmp_path):
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    (agent_dir / "pyrun_test_preload.py").write_text(
        "import os\n"
        "def dask_setup(server):\n"
        "    with open(os.environ['MARKS'], 'a') as f:\n"
        "        f.write(type(server).__name__ + '\\n')\n"
    )
    marks = tmp_path / "marks"
    env = {
        **dask_preload_env(["pyrun_test_preload"]),
        "PYTHONPATH": str(agent_dir),
        "MARKS": str(marks),
        "DASK_TEMPORARY_DIRECTORY": str(tmp_path),
    }
    run_python(
        """
        from distributed import Client, LocalCluster
        with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, Client(cluster) as c:
            assert c.submit(sum, [1, 2]).result() == 3
        """,
        env,
        tmp_path,
    )
    assert sorted(marks.read_text().split()) == ["Scheduler", "Worker"]


@pytest.mark.django_db
def test_dask_scheduler_address_alone_connects_a_client(tenants, tmp_path):
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=":0",
        local_directory=str(tmp_path / "cluster"),
    )
    with cluster:
        address = cluster.scheduler_address
        settings = with_defaults({"default_executor": "dask-scheduler", "dask_scheduler_address": address})
        plan = get_backend("dask-scheduler").plan(
            job=job_of(tenants.org), runtime=None, interpreter=sys.executable, settings=settings
        )
        assert plan.env["DASK_SCHEDULER_ADDRESS"] == cluster.scheduler_address
        out = run_python(
            """
            from distributed import Client
            with Client(timeout=30) as client:
                print(client.submit(pow, 6, 2).result())
            """,
            plan.env,
            tmp_path,
        )
    assert out.strip() == "36"
    assert plan.notes[0].startswith(f"Dask scheduler at {cluster.scheduler_address}")


@pytest.mark.parametrize(
    "address", ["tcp://scheduler:8786", "tls://10.0.0.5:8786", "tcp://[::1]:8786", "tcp://dask.example.com:1/"]
)
def test_scheduler_addresses_that_work(address):
    assert validate_address(address) == address.rstrip("/")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("scheduler:8786", "scheme"),
        ("http://scheduler:8786", "scheme"),
        ("tcp://scheduler", "port is missing"),
        ("tcp://scheduler:0", "port is missing"),
        ("tcp://scheduler:99999", "between 1 and 65535"),
        ("tcp://:8786", "host is missing"),
        ("tcp://user:pw@scheduler:8786", "credentials"),
        ("tcp://scheduler:8786/path", "only a host and a port"),
        ("tcp://scheduler:8786 ", "whitespace"),
    ],
)
def test_scheduler_addresses_that_do_not(address, reason):
    with pytest.raises(PyrunError) as caught:
        validate_address(address)
    assert caught.value.id == "job:user:bad-scheduler-address"
    assert reason in caught.value.message


@pytest.mark.django_db
def test_dask_scheduler_without_an_address(tenants):
    with pytest.raises(PyrunError) as caught:
        get_backend("dask-scheduler").plan(
            job=job_of(tenants.org), runtime=None, interpreter=sys.executable, settings=with_defaults({})
        )
    assert caught.value.id == "workspaces:user:scheduler-address-required"
