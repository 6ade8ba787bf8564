"""Agent: what the in-job monitoring agent costs a job, Dask and Lithops scripts run with and without it.

Dask: 10,000 tiny tasks (``client.map(inc, range(10_000))``) on a ``LocalCluster`` the script creates (2 workers x
1 thread, in-process). Lithops: a 1,000-task map of a no-op on the localhost backend (version 1, 2 worker
processes). "With": the agent injected as the runner injects it (``PYTHONPATH`` = ``monitoring/agent``,
``PYRUN_AGENT_SOCKET``, Dask's preload variables) and a listener in this process that reads every line and parses it
with ``monitoring.wire.decode_line``, as the runner does. "Without": neither. Runs alternate (with, without, ...) so
that drift of the machine hits both; medians of ``ROUNDS`` each after one warm-up of each. Besides the process's wall
time, the script prints its own START/END stamps around the map, the part the agent is in.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from bench.harness import BenchEnv, Result

# (quick, full) repetitions. The Lithops map's wall time varies by 15 % from run to run here (the Dask one by 4 %):
# its median needs more runs for a 5 % target to be told from noise; the quick run says "inconclusive" when its few
# runs cannot tell.
ROUNDS = (3, 7)
LITHOPS_ROUNDS = (3, 15)
RATIO_TARGET = 1.05
DASK_TASKS = 10_000
LITHOPS_TASKS = 1_000
PRELOAD = {
    "DASK_DISTRIBUTED__SCHEDULER__PRELOAD": '["pyrun_agent.dask_preload"]',
    "DASK_DISTRIBUTED__WORKER__PRELOAD": '["pyrun_agent.dask_preload"]',
}

DASK_SCRIPT = f"""\
import time
from dask.distributed import Client, LocalCluster


def inc(x):
    return x + 1


if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.submit(inc, -1).result()  # the cluster is up and warm
            print("START", repr(time.time()), flush=True)
            total = sum(client.gather(client.map(inc, range({DASK_TASKS}))))
            print("END", repr(time.time()), flush=True)
    assert total == {sum(range(1, DASK_TASKS + 1))}, total
"""

LITHOPS_SCRIPT = f"""\
import time
import lithops


def noop(x):
    return x


fexec = lithops.FunctionExecutor()
print("START", repr(time.time()), flush=True)
result = fexec.get_result(fexec.map(noop, range({LITHOPS_TASKS})))
print("END", repr(time.time()), flush=True)
assert result == list(range({LITHOPS_TASKS})), result
"""


def _stamps(text: str) -> float:
    found = {}
    for line in text.splitlines():
        word, _, value = line.partition(" ")
        if word in ("START", "END"):
            found[word] = float(value)
    return found["END"] - found["START"]


def _run_once(script: str, extra_env: dict[str, str], agent: bool, expect_events: int) -> tuple[float, float, int]:
    """One run: (process wall seconds, the map's own seconds, events the listener parsed)."""
    from tests.monitoring.agent_harness import Listener, Sandbox

    sandbox = Sandbox()
    listener = Listener() if agent else None
    try:
        path = sandbox.write("bench_script.py", script)
        env = sandbox.env(str(listener.path) if listener else None, {**extra_env, **(PRELOAD if agent else {})},
                          agent=agent)  # fmt: skip
        started = time.perf_counter()
        process = subprocess.run([sys.executable, str(path)], cwd=sandbox.root, env=env, capture_output=True,
                                 text=True, timeout=600)  # fmt: skip
        wall = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(f"the bench script failed: {process.stderr[-3000:]}")
        events = 0
        if listener is not None:

            def ended(events: list) -> int:
                return sum(e["status"] != "running" for e in events)

            listener.wait_for(lambda events: ended(events) >= expect_events, timeout=10)
            events = ended(listener.events)
            if events < expect_events or listener.rejected:
                raise RuntimeError(f"the listener got {events} of {expect_events} events ({listener.rejected} bad)")
        return wall, _stamps(process.stdout), events
    finally:
        sandbox.wait_for_leftovers()  # Lithops' cleaner must not eat into the next run
        if listener is not None:
            listener.close()
        sandbox.cleanup()


def _compare(
    label: str, script: str, extra_env: dict[str, str], tasks: int, expect_events: int, rounds: int
) -> list[Result]:
    runs: dict[bool, list[tuple[float, float, int]]] = {True: [], False: []}
    for agent in (True, False):  # warm-up: page cache, Lithops' runtime metadata
        _run_once(script, extra_env, agent, expect_events)
    for _ in range(rounds):
        for agent in (True, False):
            runs[agent].append(_run_once(script, extra_env, agent, expect_events))

    def med(agent: bool, index: int) -> float:
        return statistics.median(r[index] for r in runs[agent])

    wall_ratio = med(True, 0) / med(False, 0)
    map_ratio = med(True, 1) / med(False, 1)
    # Each "with" run against the "without" run right after it: less exposed to the drift of a shared machine.
    paired = statistics.median(w[0] / wo[0] for w, wo in zip(runs[True], runs[False], strict=True))
    fastest = min(r[0] for r in runs[True]) / min(r[0] for r in runs[False])
    # How much the very same run (no agent) varies here: a ratio inside this band is not a measurement.
    spread = (max(r[0] for r in runs[False]) - min(r[0] for r in runs[False])) / med(False, 0)
    print(
        f"   {label}: wall {med(True, 0):.2f} s with the agent vs {med(False, 0):.2f} s without: "
        f"ratio {wall_ratio:.3f}x; median of paired runs {paired:.3f}x, "
        f"fastest vs fastest {fastest:.3f}x; the map alone {med(True, 1):.2f} s vs {med(False, 1):.2f} s: "
        f"{map_ratio:.3f}x; {runs[True][-1][2]} events parsed per run; the runs without the agent spread over "
        f"{spread * 100:.0f} % of their median",
        flush=True,
    )
    for agent in (True, False):
        values = " ".join(f"{r[0]:.2f}/{r[1]:.2f}" for r in runs[agent])
        print(f"     {'with' if agent else 'without':<8} wall/map s: {values}", flush=True)

    def each(agent: bool, index: int) -> list[float]:
        return [r[index] for r in runs[agent]]

    return [
        Result(f"{label}: script with the agent", med(True, 0), med(False, 0), "without", target=RATIO_TARGET,
               subject_runs=each(True, 0), baseline_runs=each(False, 0)),
        Result(f"{label}: the map with the agent", med(True, 1), med(False, 1), "without", target=RATIO_TARGET,
               subject_runs=each(True, 1), baseline_runs=each(False, 1)),
    ]  # fmt: skip


def _agent_modules():
    from tests.monitoring.agent_harness import AGENT_DIR

    if str(AGENT_DIR) not in sys.path:
        sys.path.insert(0, str(AGENT_DIR))
    from pyrun_agent import dask_preload, emitter, lithops_hooks

    return emitter, dask_preload, lithops_hooks


def _dask_hot_path_seconds(tasks: int) -> float:
    """The agent's CPU for ``tasks`` tasks on a scheduler, without Dask around it: the plugin's ``transition``
    for the five transitions a mapped task goes through, then the emitter's conversion, JSON and socket writes
    (in its thread, which holds the GIL while it works: timed together, up to the last flush)."""
    from tests.monitoring.agent_harness import Listener

    emitter, dask_preload, _ = _agent_modules()
    with Listener() as listener:
        sender = emitter.Emitter(str(listener.path))
        channel = sender.channel(dask_preload._Converter())
        plugin = dask_preload._make_plugin(channel)
        now = time.time()
        # One thread's tasks one after another, as a worker runs them (each report carries its own times).
        reports = [{"worker": "tcp://127.0.0.1:40123", "thread": 140_000_000_000, "nbytes": 28, "type": b"\x80int",
                    "typename": "int", "metadata": {}, "run_id": 1,
                    "startstops": [{"action": "compute", "start": now + i * 2e-4, "stop": now + i * 2e-4 + 1e-4}]}
                   for i in range(tasks)]  # fmt: skip
        keys = [f"inc-{i:032x}" for i in range(tasks)]
        started = time.perf_counter()
        for key, report in zip(keys, reports, strict=True):
            for start, finish, extra in (("released", "waiting", {}), ("waiting", "processing", {}),
                                         ("processing", "memory", report), ("memory", "released", {}),
                                         ("released", "forgotten", {})):  # fmt: skip
                plugin.transition(key, start, finish, stimulus_id="bench", **extra)
        sender.flush()
        spent = time.perf_counter() - started
        listener.wait_for(lambda events: len(events) == tasks, timeout=10)
        assert len(listener.events) == tasks and listener.rejected == 0, (len(listener.events), listener.rejected)
    return spent


def _lithops_worker_seconds(tasks: int) -> float:
    """The agent's time for ``tasks`` Lithops calls in a worker process: a running and a finished event each,
    built from a status like the one Lithops sends and written to the socket before returning."""
    from types import SimpleNamespace

    from tests.monitoring.agent_harness import Listener

    emitter, _, lithops_hooks = _agent_modules()
    with Listener() as listener:
        saved, emitter._emitter = emitter._emitter, emitter.Emitter(str(listener.path))
        try:
            now = time.time()
            status = {"exception": False, "activation_id": "a1b2c3d4e5f6", "python_version": "3.11",
                      "worker_start_tstamp": now, "host_submit_tstamp": now - 0.5, "call_id": "00000",
                      "job_id": "M000", "executor_id": "a1b2c3-0", "chunksize": 1, "worker_calls": 1,
                      "worker_cold_start": False, "worker_func_cpu_usage": [10.0, 20.0],
                      "worker_func_cpu_system_time": 0.01, "worker_func_cpu_user_time": 0.02,
                      "worker_func_sent_net_io": 0, "worker_func_recv_net_io": 0, "worker_func_rss": 36_000_000,
                      "worker_func_vms": 51_000_000, "worker_func_uss": 7_000_000,
                      "worker_peak_memory_start": 33_000_000.0, "worker_func_start_tstamp": now + 0.01,
                      "worker_func_end_tstamp": now + 0.02, "func_result_size": 5.0,
                      "worker_result_upload_time": 0.0, "worker_peak_memory_end": 34_000_000.0,
                      "worker_end_tstamp": now + 0.03, "type": "__end__", "logs": "eJwDAAAAAAE=",
                      "result": "b'\\x80\\x04K\\x00.'"}  # fmt: skip
            call = SimpleNamespace(status=status)
            started = time.perf_counter()
            for i in range(tasks):
                status["call_id"] = f"{i:05d}"
                lithops_hooks._worker_running(call)
                lithops_hooks._worker_finished(call)
            spent = time.perf_counter() - started
        finally:
            emitter._emitter = saved
        listener.wait_for(lambda events: len(events) == 2 * tasks, timeout=10)
        assert len(listener.events) == 2 * tasks and listener.rejected == 0
    return spent


def run(env: BenchEnv) -> list[Result]:
    from tests.monitoring.agent_harness import lithops_config

    rounds, lithops_rounds = env.rounds(*ROUNDS), env.rounds(*LITHOPS_ROUNDS)
    print(f"   medians of {rounds} (Dask) and {lithops_rounds} (Lithops) alternating runs each, after one warm-up of "
          "each", flush=True)  # fmt: skip
    results = _compare(f"Dask {DASK_TASKS:,} tiny tasks", DASK_SCRIPT, {}, DASK_TASKS, DASK_TASKS, rounds)
    lithops_env = {"LITHOPS_CONFIG": lithops_config(worker_processes=2)}
    results += _compare(f"Lithops {LITHOPS_TASKS:,} no-op tasks", LITHOPS_SCRIPT, lithops_env, LITHOPS_TASKS,
                        LITHOPS_TASKS, lithops_rounds)  # fmt: skip
    dask_map, lithops_map = results[1].baseline_s, results[3].baseline_s

    # The end-to-end ratios above are within this shared machine's noise; these isolate what the agent adds.
    dask_agent = statistics.median(_dask_hot_path_seconds(DASK_TASKS) for _ in range(rounds))
    lithops_agent = statistics.median(_lithops_worker_seconds(LITHOPS_TASKS) for _ in range(rounds))
    print(
        f"   the agent's own work: Dask {dask_agent / DASK_TASKS * 1e6:.1f} us per task "
        f"({dask_agent / dask_map * 100:.2f} % of the map without it); Lithops worker side "
        f"{lithops_agent / LITHOPS_TASKS * 1e6:.1f} us per task "
        f"({lithops_agent / lithops_map * 100:.2f} % of the map without it, before spreading over 2 processes)",
        flush=True,
    )
    results += [
        Result(f"Dask map + the agent's CPU for {DASK_TASKS:,} tasks", dask_map + dask_agent, dask_map, "map alone"),
        Result(f"Lithops map + the agent's time for {LITHOPS_TASKS:,}", lithops_map + lithops_agent, lithops_map,
               "map alone"),
    ]  # fmt: skip
    return results
