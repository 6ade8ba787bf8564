"""The in-job agent on Dask: a LocalCluster made by a real script picks up the agent through Dask's preload
variables (as ``jobs.backends.dask_local.preload_env`` sets them) and its scheduler reports every task."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.monitoring.agent_harness import AGENT_DIR, Listener, agent_test_fixtures, overlaps, run

agent_test_fixtures(globals())

PRELOAD = {
    "DASK_DISTRIBUTED__SCHEDULER__PRELOAD": '["pyrun_agent.dask_preload"]',
    "DASK_DISTRIBUTED__WORKER__PRELOAD": '["pyrun_agent.dask_preload"]',
}

SCRIPT = """\
import sys
from dask.distributed import Client, LocalCluster


def inc(x):
    return x + 1


def boom(x):
    raise ValueError(f"bad value {{x}}")


if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=2, processes={processes}, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            print("plugins:", sorted(cluster.scheduler.plugins))
            print("total:", sum(client.gather(client.map(inc, range(1000)))))
            try:
                client.submit(boom, 7).result()
            except ValueError as error:
                print("caught:", error)
"""


@pytest.mark.parametrize(("processes", "address"), [(False, r"inproc://\S+"), (True, r"tcp://127\.0\.0\.1:\d+")])
def test_a_local_cluster_reports_every_task_on_its_worker_thread(sandbox, processes, address):
    script = sandbox.write("dask_map.py", SCRIPT.format(processes=processes))

    with Listener() as listener:
        result = run(script, sandbox.env(str(listener.path), PRELOAD))
        assert result.returncode == 0, result.stderr
        listener.settle()
        events, rejected = listener.events, listener.rejected

    assert "total: 500500" in result.stdout and "caught: bad value 7" in result.stdout
    assert rejected == 0
    # A busy machine can add disk-read/disk-write bars (Dask spilling); compute bars are one per task.
    computed = [e for e in events if e["group"] == "inc" and e["phase"] == "compute"]
    assert len(computed) == 1000
    assert len({e["key"] for e in computed}) == 1000
    assert Counter(e["status"] for e in computed) == {"finished": 1000}
    for event in computed:
        assert re.fullmatch(rf"{address} #\d+(\.\d+)?", event["lane"]), event["lane"]
        assert event["framework"] == "dask" and event["start"] <= event["end"]
        assert event["figures"]["nbytes"] > 0 and event["figures"]["thread"] > 0
    # Two workers of two threads each: at most four threads' lanes. Their bars never overlap: a bar that would (on
    # a busy machine a worker reported two tasks on one thread id 8 µs apart) goes to a sub-lane "<lane>.2".
    assert 1 <= len({e["lane"].split(".")[0] for e in computed}) <= 4
    assert overlaps([e for e in events if e["status"] != "running"]) == []
    (failed,) = [e for e in events if e["group"] == "boom"]
    assert failed["status"] == "failed" and failed["phase"] == "compute"
    assert failed["error"] == "ValueError: bad value 7"


def test_without_a_socket_no_plugin_is_added(sandbox):
    script = sandbox.write("dask_map.py", SCRIPT.format(processes=False))

    result = run(script, sandbox.env(None, PRELOAD))

    assert result.returncode == 0, result.stderr
    assert "pyrun-agent" not in result.stdout and "total: 500500" in result.stdout


CLIENT_SCRIPT = """\
from dask.distributed import Client


def inc(x):
    return x + 1


def boom(x):
    raise ValueError(f"bad value {x}")


with Client() as client:  # DASK_SCHEDULER_ADDRESS, as the dask-scheduler backend sets it
    print("total:", sum(client.gather(client.map(inc, range(200)))))
    try:
        client.submit(boom, 7).result()
    except ValueError as error:
        print("caught:", error)
"""


@pytest.fixture
def remote_cluster(sandbox):
    """A scheduler and a worker of the user's own: started without the agent, out of the job's reach."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = sandbox.env(None, agent=False)
    processes = [
        subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                          "--port", str(port), "--no-dashboard"], env=env, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "2",
                          "--no-nanny", "--no-dashboard"], env=env, stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    yield address
    for process in processes:  # no nanny: nothing else to stop, and a graceful close takes seconds
        process.kill()
        process.wait()


def test_a_remote_scheduler_is_followed_by_the_scripts_client(sandbox, remote_cluster):
    script = sandbox.write("client.py", CLIENT_SCRIPT)
    started = time.time()

    with Listener() as listener:
        result = run(script, sandbox.env(str(listener.path), {"DASK_SCHEDULER_ADDRESS": remote_cluster}))
        assert result.returncode == 0, result.stderr
        listener.settle()
        events, rejected = listener.events, listener.rejected

    assert "total: 20100" in result.stdout and "caught: bad value 7" in result.stdout
    assert rejected == 0
    computed = [e for e in events if e["group"] == "inc" and e["phase"] == "compute"]  # (spilling adds disk bars)
    assert len(computed) == len({e["key"] for e in computed}) == 200
    # The remote worker's two threads; a busy worker may report two tasks on one thread at once, and the second
    # then goes to a sub-lane of that thread (#1.2).
    lanes = {e["lane"] for e in computed}
    assert all(re.fullmatch(r"tcp://127\.0\.0\.1:\d+ #[12](\.\d+)?", lane) for lane in lanes), lanes
    assert all(started <= e["start"] <= e["end"] for e in computed)
    (failed,) = [e for e in events if e["group"] == "boom"]
    assert (failed["status"], failed["error"]) == ("failed", "ValueError: bad value 7")


class TestUnits:
    @pytest.fixture
    def preload(self, monkeypatch):
        monkeypatch.syspath_prepend(str(AGENT_DIR))
        from pyrun_agent import dask_preload

        return dask_preload

    @pytest.mark.parametrize(
        ("sent", "shown"),
        [
            ("ZeroDivisionError('division by zero')", "ZeroDivisionError: division by zero"),
            ("KeyError('x')", "KeyError: 'x'"),
            ("RuntimeError()", "RuntimeError"),
            ("ValueError(1, 2)", "ValueError: (1, 2)"),
            ("MyError(<object at 0x1>)", "MyError(<object at 0x1>)"),  # not a literal: kept as sent
            ("", ""),
        ],
    )
    def test_exception_text_reads_like_python_prints_it(self, preload, sent, shown):
        assert preload.exception_text(sent) == shown

    def test_transfers_get_their_own_lane_and_a_dead_worker_still_fails_the_task(self, preload):
        convert = preload._Converter()
        finished = convert((("x", 0), "memory", {
            "worker": "tcp://w:1", "thread": 77, "nbytes": 8, "typename": "int",
            "startstops": [{"action": "transfer", "start": 1.0, "stop": 2.0, "source": "tcp://w:2"},
                           {"action": "compute", "start": 2.0, "stop": 3.0}],
        }))  # fmt: skip
        killed = convert(("y", "erred", {"exception_text": "KilledWorker('y')"}))

        assert [(e["phase"], e["lane"], e["key"], e["group"]) for e in finished] == [
            ("transfer", "tcp://w:1 transfer", "('x', 0)", "x"),
            ("compute", "tcp://w:1 #1", "('x', 0)", "x"),
        ]
        assert [(e["status"], e["phase"], e["error"]) for e in killed] == [("failed", "compute", "KilledWorker: y")]

    def test_bars_that_would_overlap_in_a_lane_go_to_sub_lanes(self, preload):
        convert = preload._Converter()

        def bar(key, action, start, stop):
            (event,) = convert(
                (
                    key,
                    "memory",
                    {
                        "worker": "tcp://w:1",
                        "thread": 5,
                        "startstops": [{"action": action, "start": start, "stop": stop}],
                    },
                )
            )
            return event["lane"]  # fmt: skip

        # Three transfers at once, then one after them; computes on one thread, one of them reported overlapping.
        assert [bar(f"t{i}", "transfer", 1.0, 2.0) for i in range(3)] == [
            "tcp://w:1 transfer", "tcp://w:1 transfer.2", "tcp://w:1 transfer.3"
        ]  # fmt: skip
        assert bar("t3", "transfer", 2.0, 3.0) == "tcp://w:1 transfer"  # touching is not overlapping
        assert bar("a", "compute", 10.0, 11.0) == "tcp://w:1 #1"
        assert bar("b", "compute", 10.99, 12.0) == "tcp://w:1 #1.2"
        assert bar("c", "compute", 9.0, 10.0) == "tcp://w:1 #1"  # an earlier bar that fits before them
