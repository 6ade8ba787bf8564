"""What the IDE's Run options send (issue 18, point 6), through the runs API: arguments and environment variables
reach the script exactly (real worker, real sandbox), a variable's value is never echoed back by the job's detail,
the job list or its log, and names the platform sets are refused with an error id."""

from __future__ import annotations

import pytest

from tests.jobs.conftest import logs_text, make_workspace, start_run, wait_for
from tests.tenants import TenantTest

SECRET = "s3cret value; with spaces 'and' \"quotes\""
SCRIPT = (
    "import json, os, sys\n"
    "print('ARGS ' + json.dumps(sys.argv[1:]))\n"
    f"print('TOKEN OK', os.environ.get('API_TOKEN') == {SECRET!r})\n"
    "print('EMPTY', repr(os.environ.get('EMPTY_ONE')))\n"
)
# What the IDE's Options line `--name "Ada Lovelace" '' é "a\"b"` splits into (shlex rules, tested in vitest).
ARGS = ["--name", "Ada Lovelace", "", "é", 'a"b']


class TestRunOptions(TenantTest):
    @pytest.mark.slow
    def test_args_and_env_reach_the_script_and_values_are_never_echoed(self, jobs_worker):
        workspace = make_workspace(self.t, {"show.py": SCRIPT})
        client = self.api("member")
        env = {"API_TOKEN": SECRET, "EMPTY_ONE": ""}
        created = start_run(client, workspace.pk, "show.py", args=ARGS, env=env)
        done = wait_for(client, created["id"], timeout=600)
        assert done["state"] == "succeeded", logs_text(client, created["id"])

        stdout = logs_text(client, created["id"], "stdout")
        assert 'ARGS ["--name", "Ada Lovelace", "", "\\u00e9", "a\\"b"]\n' in stdout
        assert "TOKEN OK True\n" in stdout
        assert "EMPTY ''\n" in stdout

        detail = client.get(f"/api/v1/jobs/{created['id']}/")
        listing = client.get("/api/v1/jobs/", {"workspace": workspace.pk})
        logs = client.get(f"/api/v1/jobs/{created['id']}/logs/")
        assert detail.json()["env_names"] == ["API_TOKEN", "EMPTY_ONE"]
        assert detail.json()["args"] == ARGS
        for response in (detail, listing, logs):
            assert response.status_code == 200
            assert "s3cret" not in response.content.decode(), response.content

    @pytest.mark.parametrize(
        "env",
        [{"PYRUN_TOKEN": "x"}, {"LD_PRELOAD": "/x.so"}, {"GCONV_PATH": "/x"}, {"PYTHONHOME": "/x"}, {"": "x"}],
    )
    def test_names_the_platform_sets_are_refused_with_an_id(self, env):
        workspace = make_workspace(self.t, {"show.py": SCRIPT})
        response = self.api("member").post(
            f"/api/v1/workspaces/{workspace.pk}/runs/", {"entrypoint": "show.py", "env": env}, format="json"
        )
        assert response.status_code == 400, response.content
        assert response.json()["error"]["id"] == "job:user:bad-env"
        assert "x.so" not in response.content.decode()  # the value is not echoed either
