"""Per-workspace execution settings through the API, and the Lithops config they generate for a run."""

from __future__ import annotations

import sys

import pytest

from jobs.backends.lithops_config import build_lithops_config
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy.models import CloudAccount
from tests.workspaces.base import WorkspaceTest, error_id

LAMBDA = {
    "default_executor": "lithops-aws-lambda",
    "backend": "aws_lambda",
    "storage": "aws_s3",
    "runtime_memory": 2048,
    "runtime_timeout": 600,
    "workers": 200,
    "lambda_execution_role": "arn:aws:iam::123456789012:role/lithops-exec",
    "storage_bucket": "acme-lithops",
}


class TestSettingsApi(WorkspaceTest):
    def test_a_new_workspace_runs_on_local_lithops_by_default(self):
        settings = self.api("viewer").get(self.url("config/")).json()
        assert settings["default_executor"] == "lithops-localhost"
        assert (settings["backend"], settings["storage"], settings["workers"]) == ("localhost", "localhost", None)

    def test_put_stores_a_lambda_setup_and_get_returns_it(self):
        response = self.api("member").put(self.url("config/"), LAMBDA, format="json")
        assert response.status_code == 200, response.content
        assert self.api("viewer").get(self.url("config/")).json() == {**response.json(), **LAMBDA}

    def test_patch_changes_only_the_named_fields(self):
        self.api("member").put(self.url("config/"), LAMBDA, format="json")
        response = self.api("member").patch(self.url("config/"), {"workers": 50}, format="json")
        assert response.status_code == 200
        assert response.json() == {**response.json(), **LAMBDA, "workers": 50}

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"runtime_memory": 64}, "runtime_memory"),
            ({"runtime_memory": 20000}, "runtime_memory"),
            ({"workers": 0}, "workers"),
            ({"workers": 1001}, "workers"),
            ({"runtime_timeout": 901}, "runtime_timeout"),
            ({"backend": "gcp_functions"}, "backend"),
            ({"storage": "localhost"}, "storage"),
            ({"backend": "localhost"}, "backend"),
            ({"default_executor": "spark"}, "default_executor"),
            ({"lambda_execution_role": "not-an-arn"}, "lambda_execution_role"),
        ],
    )
    def test_unsupported_settings_are_field_errors(self, change, field):
        response = self.api("member").put(self.url("config/"), {**LAMBDA, **change}, format="json")
        assert response.status_code == 400
        assert error_id(response) == "api:user:invalid"
        assert list(response.json()["error"]["fields"]) == [field]
        assert self.api("member").get(self.url("config/")).json()["backend"] == "localhost"

    def test_a_long_timeout_is_fine_locally(self):
        response = self.api("member").put(self.url("config/"), {"runtime_timeout": 3600}, format="json")
        assert response.status_code == 200

    def test_the_dask_scheduler_executor_needs_an_address(self):
        response = self.api("member").put(self.url("config/"), {"default_executor": "dask-scheduler"}, format="json")
        assert response.json()["error"]["fields"]["dask_scheduler_address"]
        response = self.api("member").put(
            self.url("config/"),
            {"default_executor": "dask-scheduler", "dask_scheduler_address": "tcp://scheduler:8786"},
            format="json",
        )
        assert response.status_code == 200

    def test_an_operator_added_backend_can_be_the_default_executor(self, settings):
        # One list of backends (pyrun_web.backends): what a run may use, a workspace may default to.
        settings.PYRUN_EXTRA_BACKENDS = {"my-dask": "jobs.backends.dask_local.DaskLocal"}
        response = self.api("member").patch(self.url("config/"), {"default_executor": "my-dask"}, format="json")
        assert response.status_code == 200, response.content
        assert self.api("viewer").get(self.url("config/")).json()["default_executor"] == "my-dask"

        settings.PYRUN_EXTRA_BACKENDS = {}  # removed by the operator: no longer a choice
        response = self.api("member").patch(self.url("config/"), {"default_executor": "my-dask"}, format="json")
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["default_executor"]

    def test_viewer_cannot_change_settings(self):
        response = self.api("viewer").put(self.url("config/"), LAMBDA, format="json")
        assert response.status_code == 403


class TestBuildLithopsConfig:
    def test_localhost_uses_version_1_and_the_absolute_interpreter(self):
        config = build_lithops_config({"workers": 3}, runtime_python="/opt/runtimes/abc/bin/python")
        assert config == {
            "lithops": {"backend": "localhost", "storage": "localhost", "log_level": "INFO", "execution_timeout": 180},
            "localhost": {"runtime": "/opt/runtimes/abc/bin/python", "version": 1, "worker_processes": 3},
        }

    def test_a_bare_interpreter_name_is_refused(self):
        with pytest.raises(ValueError, match="absolute"):
            build_lithops_config({}, runtime_python="python3")

    def test_lambda_gets_its_limits_credentials_and_bucket(self):
        account = CloudAccount(
            name="prod", region="eu-west-1", bucket="", access_key_id="AKIAEXAMPLE", secret_access_key="s3cr3t"
        )
        config = build_lithops_config(
            LAMBDA, runtime_python=sys.executable, org_cloud_account=account, lambda_runtime="pyrun-abc"
        )
        assert config["lithops"]["backend"] == "aws_lambda"
        assert config["aws"] == {"region": "eu-west-1", "access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3cr3t"}
        assert config["aws_lambda"] == {
            "execution_role": LAMBDA["lambda_execution_role"], "runtime_memory": 2048, "runtime_timeout": 600,
            "max_workers": 200, "runtime": "pyrun-abc",
        }  # fmt: skip
        assert config["aws_s3"] == {"storage_bucket": "acme-lithops", "region": "eu-west-1"}
        assert "localhost" not in config

    def test_an_assumed_role_account_leaves_credentials_to_the_caller(self):
        account = CloudAccount(name="r", region="us-east-1", bucket="b-1", auth_type="role", role_arn="arn:x")
        config = build_lithops_config({**LAMBDA, "storage_bucket": ""}, runtime_python="/p", org_cloud_account=account)
        assert config["aws"] == {"region": "us-east-1"}
        assert config["aws_s3"]["storage_bucket"] == "b-1"

    @pytest.mark.parametrize(
        ("settings", "account", "error"),
        [
            (LAMBDA, None, "workspaces:user:cloud-account-required"),
            ({**LAMBDA, "lambda_execution_role": ""}, "account", "workspaces:user:lambda-role-required"),
            ({**LAMBDA, "storage_bucket": ""}, "account", "workspaces:user:bucket-required"),
            ({"storage": "aws_s3"}, None, "workspaces:user:cloud-account-required"),
        ],
    )
    def test_what_is_missing_for_aws_is_a_user_error(self, settings, account, error):
        account = CloudAccount(name="a", region="eu-west-1", bucket="") if account else None
        with pytest.raises(PyrunError) as refused:
            build_lithops_config(settings, runtime_python="/usr/bin/python3", org_cloud_account=account)
        assert refused.value.id == error

    def test_a_run_can_override_the_backend(self):
        config = build_lithops_config(LAMBDA | {"storage": "localhost"}, runtime_python="/p", backend="localhost")
        assert config["lithops"]["backend"] == "localhost"
        assert config["localhost"]["runtime"] == "/p"
