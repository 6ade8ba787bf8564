"""The in-job agent on Lithops: real scripts on the localhost backend (v1), the agent injected as the runner
injects it (PYTHONPATH + PYRUN_AGENT_SOCKET), every line parsed with ``monitoring.wire.decode_line``."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.monitoring.agent_harness import (
    AGENT_DIR,
    REPO,
    Sandbox,
    agent_test_fixtures,
    by_key,
    kill_session,
    lithops_config,
    overlaps,
    run,
)

agent_test_fixtures(globals())  # no Django database or Redis: the agent and its wire format are all these need

EXAMPLE = REPO / "templates_lib" / "templates" / "lithops" / "example.py"
EXAMPLE_OUTPUT = "squares: [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\nsum: 285\n"

FAILING_MAP = """\
import lithops


def f(x):
    if x == 3:
        return 1 / 0
    return x * 10


fexec = lithops.FunctionExecutor()
futures = fexec.map(f, range(6))
fexec.wait(futures, throw_except=False)
print("errors:", [future.error for future in futures])
"""

SLEEPY_MAP = """\
import time
import lithops


def nap(seconds):
    time.sleep(seconds)
    return seconds


fexec = lithops.FunctionExecutor()
print(fexec.get_result(fexec.map(nap, [3, 3])))
"""

# What the agent would leave behind in a process: an import hook, its modules, its patches, its thread.
IDLE_PROBE = """\
import sys, threading
import lithops.future, lithops.monitoring.status
print(any(type(f).__name__ == "_AgentImportHook" for f in sys.meta_path),
      "pyrun_agent" in sys.modules,
      hasattr(lithops.future.ResponseFuture._set_ready, "__pyrun_agent__"),
      [t.name for t in threading.enumerate()])
"""


def lithops_env(sandbox: Sandbox, socket_path: str | None, **extra: str) -> dict[str, str]:
    return sandbox.env(socket_path, {"LITHOPS_CONFIG": lithops_config(data_cleaner=False), **extra})


def any_running(events) -> bool:
    return any(e["status"] == "running" for e in events)


def finished_or_failed(events):
    return [e for e in events if e["status"] in ("finished", "failed")]


class TestWorkerSide:
    def test_template_example_reports_each_task_once_on_lanes_that_never_overlap(self, listener, sandbox):
        result = run(EXAMPLE, lithops_env(sandbox, str(listener.path)), cwd=sandbox.root)

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == EXAMPLE_OUTPUT.strip()
        listener.settle()
        events = listener.events
        assert listener.rejected == 0
        tasks = by_key(events)
        assert len(tasks) == 10
        for key, task_events in tasks.items():
            done = finished_or_failed(task_events)
            assert [e["status"] for e in done] == ["finished"], key
            assert sum(e["status"] == "running" for e in task_events) <= 1, key
            (event,) = done
            assert event["framework"] == "lithops" and event["phase"] == "task"
            assert key.rsplit("/", 1)[0] == event["group"] and event["group"].endswith("/M000")
            assert event["start"] <= event["end"]
            assert event["lane"].startswith("pid ")
            assert event["figures"]["worker_func_start_tstamp"] <= event["figures"]["worker_func_end_tstamp"]
            assert event["figures"]["host_submit_tstamp"] <= event["start"]
        assert overlaps(finished_or_failed(events)) == []

    def test_a_raising_task_is_failed_with_its_exception_and_the_others_finish(self, listener, sandbox):
        script = sandbox.write("failing_map.py", FAILING_MAP)

        result = run(script, lithops_env(sandbox, str(listener.path)))

        assert result.returncode == 0, result.stderr
        listener.settle()
        done = {e["key"].rsplit("/", 1)[1]: e for e in finished_or_failed(listener.events)}
        assert len(finished_or_failed(listener.events)) == len(done) == 6
        assert done["00003"]["status"] == "failed"
        assert done["00003"]["error"] == "ZeroDivisionError: division by zero"
        assert all(done[call]["status"] == "finished" and done[call]["error"] == "" for call in done if call != "00003")

    def test_running_events_arrive_while_the_script_runs(self, listener, sandbox):
        script = sandbox.write("sleepy_map.py", SLEEPY_MAP)
        process = subprocess.Popen([sys.executable, str(script)], cwd=sandbox.root, text=True,
                                   env=lithops_env(sandbox, str(listener.path)), start_new_session=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        try:
            listener.wait_for(lambda events: process.poll() is not None or any_running(events), timeout=30)
            still_running = process.poll() is None
            seen = any_running(listener.events)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            kill_session(process)

        assert seen and still_running, stderr
        running = [e for e in listener.events if e["status"] == "running"]
        assert running[0]["end"] is None and running[0]["lane"].startswith("pid ")
        assert stdout.strip() == "[3, 3]"


class TestClientSide:
    """The path remote backends (AWS Lambda) take: nothing of ours runs where the calls run, the script's process
    reports from Lithops' futures. Forced here on localhost with the agent's switch for tests."""

    def test_futures_report_each_call_once_on_packed_lanes(self, listener, sandbox):
        script = sandbox.write("failing_map.py", FAILING_MAP)

        result = run(script, lithops_env(sandbox, str(listener.path), PYRUN_AGENT_LITHOPS_SIDE="client"))

        assert result.returncode == 0, result.stderr
        listener.settle()
        events = listener.events
        assert {e["lane"] for e in events} == {""}  # the worker side stayed silent
        done = finished_or_failed(events)
        assert len(done) == len(by_key(done)) == 6
        failed = [e for e in done if e["status"] == "failed"]
        assert [e["key"].rsplit("/", 1)[1] for e in failed] == ["00003"]
        assert failed[0]["error"] == "ZeroDivisionError: division by zero"
        for event in done:
            assert event["start"] <= event["end"]
            assert event["figures"]["host_submit_tstamp"] <= event["start"]
            if event["status"] == "finished":
                assert event["figures"]["worker_func_start_tstamp"] <= event["figures"]["worker_func_end_tstamp"]
        assert sum(e["status"] == "running" for e in events) <= 6

    def test_by_default_a_localhost_run_is_reported_by_the_workers_only(self, listener, sandbox):
        result = run(EXAMPLE, lithops_env(sandbox, str(listener.path)), cwd=sandbox.root)

        assert result.returncode == 0, result.stderr
        listener.settle()
        assert len(finished_or_failed(listener.events)) == 10
        assert all(e["lane"].startswith("pid ") for e in listener.events)


class TestIdle:
    def test_without_a_socket_the_agent_does_nothing(self, sandbox):
        probe = sandbox.write("probe.py", IDLE_PROBE)
        env = lithops_env(sandbox, None)

        probed = run(probe, env)
        with_agent = run(EXAMPLE, env, cwd=sandbox.root)
        without_agent = run(EXAMPLE, lithops_env(sandbox, None) | {"PYTHONPATH": ""}, cwd=sandbox.root)

        assert probed.stdout == "False False False ['MainThread']\n", probed.stderr
        assert with_agent.returncode == without_agent.returncode == 0, with_agent.stderr
        assert with_agent.stdout == without_agent.stdout
        assert with_agent.stdout.strip() == EXAMPLE_OUTPUT.strip()
        assert with_agent.stderr == without_agent.stderr

    def test_a_socket_that_does_not_exist_changes_nothing(self, sandbox):
        missing = str(sandbox.root / "no-such-dir" / "agent.sock")

        result = run(EXAMPLE, lithops_env(sandbox, missing), cwd=sandbox.root)

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == EXAMPLE_OUTPUT.strip()
        assert "pyrun_agent" not in result.stderr and "Traceback" not in result.stderr


class TestSitecustomize:
    def test_the_next_sitecustomize_on_the_path_still_runs(self, sandbox):
        theirs = sandbox.root / "runtime-site"
        theirs.mkdir()
        (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.RUNTIME_SITE = __file__\n")
        probe = sandbox.write("probe.py", "import sys\nprint(RUNTIME_SITE == sys.modules['sitecustomize'].__file__)\n")

        for socket_path in (None, "/nonexistent.sock"):
            env = sandbox.env(socket_path, {"PYTHONPATH": f"{AGENT_DIR}:{theirs}"})
            result = run(probe, env)
            assert result.returncode == 0, result.stderr
            assert result.stdout == "True\n"


class TestEmitter:
    """The sender alone, in this process (it is plain stdlib)."""

    @pytest.fixture
    def emitter_module(self, monkeypatch):
        monkeypatch.syspath_prepend(str(AGENT_DIR))
        from pyrun_agent import emitter

        return emitter

    def test_batches_arrive_parsed_and_a_runner_that_goes_away_only_drops_events(self, emitter_module, listener):
        sender = emitter_module.Emitter(str(listener.path))
        event = {"framework": "dask", "group": "inc", "key": "inc-1", "phase": "compute", "status": "finished",
                 "lane": "w #1", "start": 1.0, "end": 2.0, "error": "", "figures": {"nbytes": 28}}  # fmt: skip
        for _ in range(1200):
            sender.put(event)
        assert listener.wait_for(lambda events: len(events) == 1200, timeout=5)
        assert sender.sent == 1200 and listener.rejected == 0
        # Lines of at most 500 events, the last one sent after the linger.
        assert max(len(line.events) for line in listener.lines) == emitter_module.BATCH

        listener.close()
        started = time.monotonic()
        for _ in range(3):
            sender.put(event)
            sender.send_now([event])
        sender.at_exit()
        assert time.monotonic() - started < 1
        assert sender.dropped == 6 and sender.sent == 1200


ERROR_PROBE = """\
import base64, pickle, sys, zlib
from tblib import pickling_support
from pyrun_agent.lithops_hooks import error_text

pickling_support.install()  # as Lithops' worker does, before the user's classes exist


class Busted(Exception):
    def __init__(self, a, b):  # cannot be unpickled from its args
        super().__init__(f"{a} and {b}")


def lithops_exc_info():  # lithops.worker.jobrunner.JobRunner._write_exception
    exc_type, exc_value, exc_traceback = sys.exc_info()
    try:
        pickled = pickle.dumps((exc_type, exc_value, exc_traceback))
        pickle.loads(pickled)
    except Exception as error:
        pickled = pickle.dumps({"exc_type": str(exc_type), "exc_value": str(exc_value) + "\\n  File ...",
                                "exc_traceback": None, "pickle_exception": str(error)})
    return str(pickled)


for exc in (ZeroDivisionError("division by zero"), KeyError("k"), Busted(1, 2), TimeoutError("HANDLER", "too long")):
    try:
        raise exc
    except Exception:
        print(error_text({"exception": True, "exc_info": lithops_exc_info()}))

log = "x\\n----------------------- EXCEPTION !-----------------------\\nTraceback (most recent call last):\\n"
log += '  File "f.py", line 1, in f\\n    1 / 0\\nValueError: line one\\nline two\\n' + "-" * 58 + "\\n"
logs = base64.b64encode(zlib.compress(log.encode())).decode()
print(repr(error_text({"exception": True, "exc_info": "b'garbage'", "logs": logs})))
"""


def test_error_text_reads_the_exception_lithops_pickled_and_falls_back_to_the_log(sandbox):
    probe = sandbox.write("error_probe.py", ERROR_PROBE)

    result = run(probe, sandbox.env(None))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "ZeroDivisionError: division by zero",
        "KeyError: 'k'",
        "Busted: 1 and 2",
        "TimeoutError: too long",  # Lithops' own failures carry a HANDLER marker, left out
        "'ValueError: line one\\nline two'",
    ]
