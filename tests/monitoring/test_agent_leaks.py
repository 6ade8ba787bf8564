"""The agent leaves nothing behind that a library's leak checks can see: Dask's own test helpers (``gen_cluster``
checks the threads of every test; ``distributed.pytest_resourceleaks`` the file descriptors) pass with the agent on
as they do without it, while the agent still reports every task. And the client that follows a remote scheduler
stops its thread when it closes, and never follows a scheduler of its own process."""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest

from tests.monitoring import test_agent_dask
from tests.monitoring.agent_harness import AGENT_DIR, Listener, Sandbox, run

PRELOAD = test_agent_dask.PRELOAD
# That module's fixtures: no database or Redis here, a private HOME/TMPDIR, a scheduler of the user's own.
redis_server, _clean_cache = test_agent_dask.redis_server, test_agent_dask._clean_cache
sandbox, remote_cluster = test_agent_dask.sandbox, test_agent_dask.remote_cluster

# Copies of leak-checked cases of dask/tests/test_distributed.py. gen_cluster fails a test that leaves a thread;
# run under distributed's resource-leak plugin, one that leaves a file descriptor fails too. The first gen_cluster
# test of a session leaks two descriptors of Dask's own (distributed.pytest_resourceleaks says so): it is the
# warm-up, whose threads gen_cluster still checks.
LEAK_CHECKED_TESTS = """\
import pytest
from dask import delayed
from distributed import wait
from distributed.utils_test import gen_cluster


def inc(x):
    return x + 1


@pytest.mark.leaking("fds")
@gen_cluster(client=True)
async def test_warm_up(c, s, a, b):
    assert await c.submit(inc, -1) == 0


@gen_cluster(client=True)
async def test_persist(c, s, a, b):
    x = delayed(inc)(1)
    x2 = c.persist(x)
    await wait(x2)
    assert x2.key in a.data or x2.key in b.data


@gen_cluster(client=True)
async def test_map(c, s, a, b):
    assert sum(await c.gather(c.map(inc, range(100, 120)))) == sum(range(101, 121))
"""

# pytest as a script, with only distributed's leak plugin (the machine's other plugins have no business here).
PYTEST_MAIN = """\
import sys
import pytest

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "distributed.pytest_resourceleaks", "-o", "markers=leaking",
                      "--leaks=fds,threads", "--leaks-fail", "--leaks-timeout=5", "test_leak_checked.py"]))
"""


def run_leak_checked(sandbox: Sandbox, socket_path: str | None):
    sandbox.write("test_leak_checked.py", LEAK_CHECKED_TESTS)
    script = sandbox.write("run_tests.py", PYTEST_MAIN)
    return run(script, sandbox.env(socket_path, {**PRELOAD, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}))


def test_dasks_leak_checked_tests_pass_with_the_agent_on_and_every_task_is_reported(sandbox):
    with Listener() as listener:
        result = run_leak_checked(sandbox, str(listener.path))
        listener.settle()
        events, rejected = listener.events, listener.rejected

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "3 passed" in result.stdout and "leaked" not in output
    assert rejected == 0
    computed = [e for e in events if e["group"] == "inc" and e["phase"] == "compute"]
    assert Counter(e["status"] for e in computed) == {"finished": 22}  # 1 + 1 + 20 tasks
    assert len({e["key"] for e in computed}) == 22


CLIENT_TWICE = """\
import threading
from dask.distributed import Client


def inc(x):
    return x + 1


def agent_threads():
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("pyrun-agent"))


for first in (0, 100):  # distinct keys each time
    with Client() as client:  # DASK_SCHEDULER_ADDRESS: the user's own scheduler
        print("total:", sum(client.gather(client.map(inc, range(first, first + 10)))))
        print("while open:", agent_threads())
    print("after close:", agent_threads())
"""


def test_a_followed_remote_scheduler_leaves_no_thread_after_close_and_a_later_client_follows_it_again(
    sandbox, remote_cluster
):
    script = sandbox.write("client.py", CLIENT_TWICE)

    with Listener() as listener:
        result = run(script, sandbox.env(str(listener.path), {"DASK_SCHEDULER_ADDRESS": remote_cluster}))
        assert result.returncode == 0, result.stderr
        listener.settle()
        events = listener.events

    # While open, the follower polls (the emitter's thread may not have started yet: it starts with the first event).
    assert len(re.findall(r"^while open: \[.*'pyrun-agent-dask'\]$", result.stdout, re.MULTILINE)) == 2, result.stdout
    assert result.stdout.count("after close: []") == 2, result.stdout
    computed = [e for e in events if e["group"] == "inc" and e["phase"] == "compute"]
    assert len(computed) == len({e["key"] for e in computed}) == 20


IN_PROCESS_NAMED_REMOTE = """\
import os
import threading
from distributed import Client, LocalCluster


def inc(x):
    return x + 1


with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
    os.environ["DASK_SCHEDULER_ADDRESS"] = cluster.scheduler_address
    with Client(cluster) as client:
        print("total:", sum(client.gather(client.map(inc, range(50)))))
        print("followers:", [t.name for t in threading.enumerate() if t.name == "pyrun-agent-dask"])
"""


def test_a_scheduler_of_the_jobs_own_is_reported_once_even_when_named_as_the_remote_one(sandbox):
    script = sandbox.write("local.py", IN_PROCESS_NAMED_REMOTE)

    with Listener() as listener:
        result = run(script, sandbox.env(str(listener.path), PRELOAD))
        assert result.returncode == 0, result.stderr
        listener.settle()
        events = listener.events

    assert "total: 1275" in result.stdout and "followers: []" in result.stdout, result.stdout
    computed = [e for e in events if e["group"] == "inc" and e["phase"] == "compute"]
    assert len(computed) == len({e["key"] for e in computed}) == 50
    assert all(re.fullmatch(r"inproc://\S+ #\d+(\.\d+)?", e["lane"]) for e in computed)


class TestEmitterLife:
    """The sender alone, in this process: its thread and connection last as long as an open channel."""

    EVENT = {"framework": "dask", "group": "inc", "key": "inc-1", "phase": "compute", "status": "finished",
             "lane": "w #1", "start": 1.0, "end": 2.0, "error": "", "figures": {}}  # fmt: skip

    @pytest.fixture
    def emitter_module(self, monkeypatch):
        monkeypatch.syspath_prepend(str(AGENT_DIR))
        from pyrun_agent import emitter

        return emitter

    @staticmethod
    def agent_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name == "pyrun-agent"]

    def test_the_last_channel_closing_sends_what_waits_and_ends_the_thread_and_connection(self, emitter_module):
        with Listener() as listener:
            sender = emitter_module.Emitter(str(listener.path))
            scheduler, follower = sender.channel(lambda item: [item]), sender.channel(lambda item: [item])
            scheduler.put(self.EVENT)
            assert listener.wait_for(lambda events: len(events) == 1)
            assert self.agent_threads() == ["pyrun-agent"]

            scheduler.close()  # another producer is still open
            assert self.agent_threads() == ["pyrun-agent"]
            follower.put(self.EVENT)
            follower.close()
            # Sent before close() returned, and nothing of the emitter is left.
            assert sender.sent == 2 and self.agent_threads() == [] and sender._sock is None

            follower.put(self.EVENT)  # a straggler after its producer ended: dropped, no thread for it
            assert self.agent_threads() == [] and sender.dropped == 1
            sender.put(self.EVENT)  # a new event starts them again
            assert listener.wait_for(lambda events: len(events) == 3)
            assert self.agent_threads() == ["pyrun-agent"]
            sender.at_exit()
            assert self.agent_threads() == [] and listener.rejected == 0
