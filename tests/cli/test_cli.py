import json
import subprocess
import sys

from tests.conftest import worker_env


def _pyrun(*args, env):
    return subprocess.run([sys.executable, "-m", "pyrun_cli", *args], capture_output=True, text=True, env=env)


def test_cli_whoami_and_health_against_a_live_server(tenants, live_server_url):
    env = worker_env({"PYRUN_URL": live_server_url, "PYRUN_TOKEN": tenants.keys["member"]})
    whoami = _pyrun("whoami", env=env)
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["user"]["email"] == "member@example.com"
    health = _pyrun("health", env=env)
    assert json.loads(health.stdout)["status"] in ("ok", "degraded")  # the checks' details are for staff only


def test_cli_exits_non_zero_with_the_error_on_a_bad_token(tenants, live_server_url):
    env = worker_env({"PYRUN_URL": live_server_url, "PYRUN_TOKEN": "pyr_00000000_wrong"})
    result = _pyrun("whoami", env=env)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["id"] == "auth:user:bad-token"
