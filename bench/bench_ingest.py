"""Monitoring ingest: synthetic task events through the agent socket → database → websocket, throughput and latency.

Three processes besides this one, as in production: an emitter (the agent's part: lines of 500 events on the job's
Unix socket, each event stamped with its emit time), the web server (uvicorn serving ``/ws/jobs/{id}/``, the real
consumer on the real channel layer) and a websocket client that stamps every event as it arrives. This process is
the worker: ``EventIngest`` reads the socket, and its flusher thread writes and publishes, as in a job.

The client counts a ``dropped`` summary (the server's backpressure for a client that falls a second behind, see
:mod:`pyrun_web.stream_consumer`) as events that never arrived: infinite latency, not part of the rate.

Two runs: events paced at the target rate (50,000/s) for a few seconds, to read the latency from emit to websocket
receive (target p95 ≤ 250 ms), and events sent as fast as the emitter can, to read the sustained throughput
(target ≥ 50,000 events/s from the first emit to the last receive). Ratios are measured/target: ≤ 1.00 meets it.
"""

from __future__ import annotations

import json
import resource
import socket
import statistics
import subprocess
import sys
import textwrap
import time

import psutil

from bench.harness import BenchEnv, Result

TARGET_RATE = 50_000
TARGET_P95_S = 0.250
EVENTS = 200_000
LINE_EVENTS = 500

EMITTER = textwrap.dedent("""
    import json, socket, sys, time
    path, total, rate, line_events = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode  # as the agent's emitter
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    started = time.time()
    sent = 0
    while sent < total:
        if rate:
            wait = started + sent / rate - time.time()
            if wait > 0:
                time.sleep(wait)
        now = time.time()
        n = min(line_events, total - sent)
        batch = [{"framework": "lithops", "group": "bench/M000", "key": f"bench/M000/{sent + i}", "phase": "task",
                  "status": "finished", "lane": f"pid {i % 8}", "start": now, "end": now, "error": "",
                  "figures": {"emit": now}} for i in range(n)]
        sock.sendall(encode(batch).encode() + b"\\n")
        sent += n
    sock.close()
    print(json.dumps({"first_emit": started}), flush=True)
""")

CLIENT = textwrap.dedent("""
    import asyncio, json, sys, time
    import orjson  # the client stands in for a browser on another machine: spend little of the shared cores
    from websockets.asyncio.client import connect
    url, total = sys.argv[1], int(sys.argv[2])

    async def main():
        latencies, dropped = [], 0
        async with connect(url, max_size=None) as ws:
            print("READY", flush=True)
            while len(latencies) + dropped < total:
                frame = orjson.loads(await ws.recv())
                now = time.time()
                for message in frame["messages"]:
                    if message["type"] == "job.tasks":
                        latencies.extend(now - e["figures"]["emit"] for e in message["events"])
                    elif message["type"] == "dropped":  # the server gave up on us: those never arrive
                        dropped += message["count"]
        # A dropped event counts as arriving never: the percentiles are over every event sent.
        everything = sorted(latencies) + [float("inf")] * dropped
        pick = lambda q: everything[min(len(everything) - 1, int(q * len(everything)))]
        print(json.dumps({"received": len(latencies), "dropped": dropped, "last_receive": now, "p50": pick(0.5),
                          "p95": pick(0.95), "max": everything[-1]}), flush=True)

    asyncio.run(main())
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Web:
    def __init__(self) -> None:
        from pyrun_web.launcher import web_argv

        self.port = _free_port()
        self.process = subprocess.Popen([*web_argv("127.0.0.1", self.port), "--log-level", "warning"])
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


def _cpu(process: psutil.Process | None = None) -> float:
    """CPU seconds (user + system) of ``process``, or of the waited-for children when None."""
    if process is None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    times = process.cpu_times()
    return times.user + times.system


def _one_run(job_id: int, url: str, rate: float, web: psutil.Process) -> dict:
    from django.db import connections

    from monitoring.ingest import EventIngest

    # CPU time per event of each process, besides the wall-clock figures: on a busy machine the rates and latencies
    # move with the load, the CPU an event costs much less, and its sum over the processes is what caps a small box.
    me, children, web_before = _cpu(psutil.Process()), _cpu(), _cpu(web)
    client = subprocess.Popen([sys.executable, "-c", CLIENT, url, str(EVENTS)], stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None
    if client.stdout.readline().strip() != "READY":
        raise RuntimeError("the websocket client did not connect")
    ingest = EventIngest(job_id).start().start_flushing()  # as the runner does
    emitter = subprocess.run(
        [sys.executable, "-c", EMITTER, str(ingest.path), str(EVENTS), str(rate), str(LINE_EVENTS)],
        capture_output=True, text=True,
    )  # fmt: skip
    if emitter.returncode:
        ingest.close()
        raise RuntimeError(f"the emitter failed ({ingest.flush_error!r} in the ingest): {emitter.stderr[-2000:]}")
    emitter_cpu = _cpu() - children
    received = json.loads(client.communicate(timeout=300)[0].strip().splitlines()[-1])
    ingest.close()
    connections.close_all()
    per_event = 1e6 / EVENTS
    received["cpu_us"] = {
        "ingest": (_cpu(psutil.Process()) - me) * per_event, "web": (_cpu(web) - web_before) * per_event,
        "emitter": emitter_cpu * per_event, "client": (_cpu() - children - emitter_cpu) * per_event,
    }  # fmt: skip
    received.update(json.loads(emitter.stdout))
    received["rate"] = received["received"] / (received["last_receive"] - received["first_emit"])
    return received


def run(env: BenchEnv) -> list[Result]:
    from jobs.models import Job, JobState
    from pyrun_web.tenancy.models import ApiToken
    from pyrun_web.tenancy.services import create_tenant
    from workspaces.services import create_workspace

    org, user, _ = create_tenant("bench-ingest", "bench-ingest@example.com")
    _, key = ApiToken.issue(user=user, org=org, name="bench")
    workspace = create_workspace(org=org, user=user, name="Bench ingest", template="empty")
    web = _Web()
    results = []
    rounds = env.rounds(3, 7)
    from django.db import connection

    print(f"   {connection.vendor} database; {rounds} runs of each mode, medians and spread", flush=True)
    try:
        for name, rate in (("paced at 50,000/s", TARGET_RATE), ("as fast as sent", 0)):
            runs = []
            for _ in range(rounds):
                job = Job.objects.create(org=org, workspace=workspace, created_by=user, entrypoint="main.py",
                                         backend="lithops-localhost", state=JobState.RUNNING)  # fmt: skip
                url = f"ws://127.0.0.1:{web.port}/ws/jobs/{job.pk}/?streams=tasks&token={key}"
                r = _one_run(job.pk, url, rate, psutil.Process(web.process.pid))
                runs.append(r)
                cpu = r["cpu_us"]
                print(
                    f"  {name}: {r['received']:,} events received, {r['dropped']:,} dropped for a slow client, "
                    f"{r['rate']:,.0f} events/s end to end; latency emit → websocket "
                    f"p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms; "
                    f"CPU per event: ingest {cpu['ingest']:.1f} µs, web {cpu['web']:.1f} µs, emitter (the agent's "
                    f"part) {cpu['emitter']:.1f} µs, client {cpu['client']:.1f} µs; {sum(cpu.values()):.1f} µs in all",
                    flush=True,
                )
            if rate:
                p95s = [r["p95"] for r in runs]
                results.append(Result("ingest p95 latency at 50k events/s", statistics.median(p95s), TARGET_P95_S,
                                      "target 250 ms", target=1.0, subject_runs=p95s))  # fmt: skip
            else:
                # Time per event vs the time per event the target rate allows.
                per_1k = [1000 / r["rate"] for r in runs]
                results.append(Result("ingest time per 1k events, unpaced", statistics.median(per_1k),
                                      1000 / TARGET_RATE, "target 50k/s", target=1.0,
                                      subject_runs=per_1k))  # fmt: skip
    finally:
        web.stop()
    return results
