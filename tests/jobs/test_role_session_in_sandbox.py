"""A job acting as an org's role, for real in its sandbox: it reads its session through the credential process the
SDKs run (the same one boto3 and Lithops use), cannot change the file it comes from, and the folder is gone when
the job ends."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import pytest

from jobs import runner
from jobs.models import Job
from pyrun_web.tenancy.models import CloudAccount
from tests.jobs.conftest import logs_text, make_workspace
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow

# What an SDK does with AWS_CONFIG_FILE (plain Python: the job's runtime needs no boto3 for this).
SCRIPT = """
import configparser, json, os, shlex, subprocess
config = configparser.ConfigParser()
config.read(os.environ["AWS_CONFIG_FILE"])
command = shlex.split(config["default"]["credential_process"])
document = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
print("version", document["Version"], "expires", document["Expiration"], "key", document["AccessKeyId"], flush=True)
print("static keys in env:", sorted(k for k in os.environ if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")))
try:
    open(command[-1], "w").write("{}")
    print("credentials file: writable")
except OSError as exc:
    print("credentials file: read-only", type(exc).__name__)
print("folder", os.path.dirname(command[-1]))
"""


class TestRoleSessionInSandbox(TenantTest):
    def test_the_job_reads_its_role_session_through_the_credential_process(self, jobs_worker, aws_mock):
        role = boto3.client("iam").create_role(RoleName="pyrun-jobs", AssumeRolePolicyDocument="{}")["Role"]
        CloudAccount.objects.create(org=self.t.org, name="role", region="eu-west-1", bucket="data",
                                    auth_type="role", role_arn=role["Arn"])  # fmt: skip
        workspace = make_workspace(self.t, {"main.py": SCRIPT})
        workspace.set_lithops_settings({**workspace.lithops_settings, "storage": "aws_s3", "storage_bucket": "data"})
        workspace.save()
        job = Job.objects.create(org=self.t.org, workspace=workspace, created_by=self.t.member, entrypoint="main.py",
                                 backend="lithops-localhost")  # fmt: skip

        runner.run_job(job.pk, task_id="in-test", worker="test")

        job.refresh_from_db()
        text = logs_text(self.api("viewer"), job.pk)
        assert job.state == "succeeded", text
        assert re.search(r"version 1 expires \S+ key \S+", text)
        assert "static keys in env: []" in text
        assert "credentials file: read-only" in text
        assert f"role {role['Arn']} assumed for this job, renewed" in text
        key = re.search(r" key (\S+)", text).group(1)
        identity = boto3.client(
            "sts", aws_access_key_id=key, aws_secret_access_key="x", aws_session_token="x"
        ).get_caller_identity()
        assert ":assumed-role/pyrun-jobs/pyrun-job-" in identity["Arn"]
        folder = re.search(r"^folder (\S+)$", text, re.M).group(1)
        assert not Path(folder).exists()
