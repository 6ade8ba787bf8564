"""Nothing a tenant reads about a runtime names a path on the server: not the data dir, not the environment's
folder, not the interpreter (staff pages still show them)."""

from __future__ import annotations

import pytest
from django.conf import settings

from runtimes.models import Runtime
from runtimes.serializers import without_host_paths
from tests.tenants import TenantTest

HOST_PYTHON = "/opt/pyenv/versions/3.11.7"  # a host interpreter outside the data dir


class TestNoHostPaths(TenantTest):
    @pytest.fixture(autouse=True)
    def _runtimes(self, _tenants) -> None:
        build_dir, failed_dir = settings.RUNTIMES_ROOT / "builds" / "abc123", settings.RUNTIMES_ROOT / "builds" / "b"
        self.ready = Runtime.objects.create(
            org=self.t.org, spec_hash="a" * 64, kind=Runtime.Kind.CONDA, builder=Runtime.Builder.UV,
            state=Runtime.State.READY, python_version="3.11.7", prefix=str(settings.RUNTIMES_ROOT / "final" / "a"),
            extra={"build_dir": str(build_dir), "base_prefix": HOST_PYTHON},
            spec={"kind": "conda", "python": "3.11", "pip_packages": ["six"]},
        )  # fmt: skip
        output = (
            f"error: {failed_dir}/lib/python3.11/site-packages/x.py is broken; {HOST_PYTHON}/bin/python3.11 said no; "
            f"cache at {settings.DATA_DIR}/cache/uv"
        )
        self.failed = Runtime.objects.create(
            org=self.t.org, spec_hash="b" * 64, kind=Runtime.Kind.CONDA, builder=Runtime.Builder.UV,
            state=Runtime.State.FAILED, python_version="3.11.7", extra={"build_dir": str(failed_dir),
            "base_prefix": HOST_PYTHON}, error_id="runtime:user:pip-failed", error_message=output,
        )  # fmt: skip
        self.host_paths = [str(settings.DATA_DIR), str(self.ready.python), HOST_PYTHON]

    def answers(self) -> list[str]:
        client = self.api("viewer")
        urls = ["/api/v1/runtimes/", *(f"/api/v1/runtimes/{r.pk}/" for r in (self.ready, self.failed))]
        responses = [client.get(url) for url in urls]
        assert all(r.status_code == 200 for r in responses)
        return [r.content.decode() for r in responses]

    def test_no_answer_names_a_host_path(self):
        assert str(self.ready.python).startswith(str(settings.DATA_DIR))  # what used to be shown
        for body in self.answers():
            for path in self.host_paths:
                assert path not in body

    def test_artifacts_and_errors_show_stable_names(self):
        detail = self.api("viewer").get(f"/api/v1/runtimes/{self.ready.pk}/").json()
        assert detail["artifacts"]["prefix"] == f"runtime-{self.ready.pk}"
        assert detail["artifacts"]["python"] == "python 3.11.7"
        message = self.api("viewer").get(f"/api/v1/runtimes/{self.failed.pk}/").json()["error"]["message"]
        assert f"<runtime {self.failed.pk}>/lib/python3.11/site-packages/x.py is broken" in message
        assert "<python 3.11.7>/bin/python3.11 said no" in message and "<data>/cache/uv" in message


def test_only_whole_path_components_are_replaced(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.RUNTIMES_ROOT = tmp_path / "data" / "runtimes"
    text = f"{tmp_path}/data/runtimes/x {tmp_path}/data/runtimes2 {tmp_path}/database {tmp_path}/data"
    assert without_host_paths(text) == f"<runtimes>/x <data>/runtimes2 {tmp_path}/database <data>"
