"""`make bench`: run every bench/bench_*.py and print ratios against a baseline measured in the same run.

Each module exposes ``run(env) -> list[Result]``. A throwaway platform (data dir, SQLite, embedded Redis)
is set up once and shared.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from bench.harness import BenchEnv, print_results


def main(argv: list[str]) -> int:
    wanted = set(argv)
    modules = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")]
    with BenchEnv() as env:
        for name in sorted(modules):
            if wanted and name.removeprefix("bench_") not in wanted and name not in wanted:
                continue
            module = importlib.import_module(f"bench.{name}")
            print(f"\n## {name.removeprefix('bench_')}: {module.__doc__.strip().splitlines()[0]}", flush=True)
            print_results(module.run(env))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
