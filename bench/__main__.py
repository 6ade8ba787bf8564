"""`make bench`: run every bench/bench_*.py and print ratios against a baseline measured in the same run.

``python -m bench [--full] [NAME ...]``: the quick run (the default, a few minutes on 2 cores) gives each
measurement few, well-chosen repetitions; ``--full`` (``make bench-full``) the long statistical runs. NAMEs pick
modules (``jobs``, ``agent``, ...). Each module exposes ``run(env) -> list[Result]`` and reads its repetition
counts from ``env.rounds(quick, full)``. A throwaway platform (data dir, SQLite, embedded Redis) is set up once
and shared. The machine's load is printed at the start and the end: a busy machine makes every ratio noisier,
and a verdict the noise cannot support is printed as "inconclusive".
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from bench.harness import INCONCLUSIVE, MET, MISSED, BenchEnv, Result, print_results

BUSY_LOAD = 1.0


def load_line() -> str:
    """``uptime``-style load averages and the CPUs this process may use."""
    one, five, fifteen = os.getloadavg()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {cpus} CPUs (machine: {os.cpu_count()})"


def main(argv: list[str]) -> int:
    full = "--full" in argv
    wanted = {arg for arg in argv if not arg.startswith("--")}
    modules = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")]
    print(f"# make bench{'-full' if full else ''}: {'long statistical runs' if full else 'quick run'}", flush=True)
    print(f"# {load_line()}", flush=True)
    if os.getloadavg()[0] >= BUSY_LOAD:
        print(
            f"# WARNING: the machine is busy (1-minute load >= {BUSY_LOAD:.0f}): other work competes with the "
            "benchmarks, so the figures are slower and noisier than on a quiet machine",
            flush=True,
        )
    started = time.monotonic()
    results: list[Result] = []
    failed: list[str] = []
    with BenchEnv(quick=not full) as env:
        for name in sorted(modules):
            if wanted and name.removeprefix("bench_") not in wanted and name not in wanted:
                continue
            module = importlib.import_module(f"bench.{name}")
            print(f"\n## {name.removeprefix('bench_')}: {module.__doc__.strip().splitlines()[0]}", flush=True)
            module_started = time.monotonic()
            try:
                module_results = module.run(env)
            except Exception:  # one broken module must not hide the others' figures
                traceback.print_exc()
                print(f"   FAILED: {name} (its traceback above)", flush=True)
                failed.append(name)
                module_results = []
            print_results(module_results)
            print(f"   ({time.monotonic() - module_started:.0f} s; {load_line()})", flush=True)
            results += module_results
    judged = [r for r in results if r.target is not None]
    counts = {verdict: sum(r.verdict == verdict for r in judged) for verdict in (MET, MISSED, INCONCLUSIVE)}
    hint = " (inconclusive: the noise is larger than the margin; `make bench-full` on a quiet machine)"
    print(
        f"\n# {len(judged)} targets: {counts[MET]} met, {counts[MISSED]} missed, {counts[INCONCLUSIVE]} inconclusive"
        f"{hint if counts[INCONCLUSIVE] else ''}; {time.monotonic() - started:.0f} s in all; {load_line()}",
        flush=True,
    )
    for r in judged:
        if r.verdict != MET:
            print(f"#   {r.verdict}: {r.name} ({r.ratio:.3f}x, target <= {r.target:.2f}x)", flush=True)
    if failed:
        print(f"# FAILED modules: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
