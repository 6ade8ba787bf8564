"""The agent's cloudpickle patch: a function of the script, pickled by value (as Lithops and Dask send every task),
raises with its workspace file in the traceback rather than cloudpickle's ``<dynamic-code>``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.monitoring.agent_harness import Sandbox, agent_test_fixtures

agent_test_fixtures(globals())

SCRIPT = """\
import sys, traceback
import cloudpickle
sys.path.insert(0, sys.argv[1])
import helpers


def work(x):
    return 1 / x


for fn in (work, helpers.make()):
    try:
        cloudpickle.loads(cloudpickle.dumps(fn))(0)
    except ZeroDivisionError as error:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        print(frame.filename, frame.lineno, frame.name)
"""

HELPERS = """\
def make():
    def inner(x):
        return 2 / x
    return inner
"""


@pytest.fixture
def workspace(sandbox):
    """The script in a workspace folder, and a module of helpers outside it."""
    (sandbox.root / "workspace").mkdir()
    (sandbox.root / "outside").mkdir()
    (sandbox.root / "outside" / "helpers.py").write_text(HELPERS)
    (sandbox.root / "workspace" / "main.py").write_text(SCRIPT)
    return sandbox


def frames(sandbox: Sandbox, socket_path: str | None) -> list[str]:
    """The last frame of each function's traceback, run from the workspace as a job's script is."""
    script = sandbox.root / "workspace" / "main.py"
    result = subprocess.run([sys.executable, str(script), str(sandbox.root / "outside")], cwd=script.parent,
                            env=sandbox.env(socket_path), text=True, capture_output=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_script_function_names_its_workspace_file_and_line(workspace):
    script = workspace.root / "workspace" / "main.py"
    own, helper = frames(workspace, str(workspace.root / "agent.sock"))
    assert own == f"{script} 8 work"
    # A closure from outside the workspace keeps cloudpickle's name: only workspace files are named.
    assert helper == "<dynamic-code> 3 inner"


def test_without_the_agent_cloudpickle_names_no_file(workspace):
    own, helper = frames(workspace, None)
    assert own == "<dynamic-code> 8 work"
    assert helper == "<dynamic-code> 3 inner"
