"""Shared pieces of the benchmarks: a throwaway platform, timing helpers, and results that carry their spread.

A result compares a subject with a baseline measured in the same run (or with a target). When it has a
``target`` (the ratio the subject must stay at or below), it gets a verdict: "met", "MISSED", or
"inconclusive" when the measurement's own noise is larger than the margin between the ratio and the target
(the baseline's spread over its repetitions; for a fixed target, which has none, the subject's): a ratio
inside the noise is not a measurement.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MET, MISSED, INCONCLUSIVE = "met", "MISSED", "inconclusive"


def quartiles(runs: Sequence[float]) -> tuple[float, float]:
    """The first and third quartiles of ``runs`` (inclusive method: with 3 runs, halfway to the min and max)."""
    if len(runs) < 2:
        value = runs[0] if runs else float("nan")
        return value, value
    q1, _, q3 = statistics.quantiles(runs, n=4, method="inclusive")
    return q1, q3


def relative_spread(runs: Sequence[float]) -> float:
    """The interquartile range of ``runs`` over their median (0 for fewer than 2 runs)."""
    if len(runs) < 2:
        return 0.0
    q1, q3 = quartiles(runs)
    return (q3 - q1) / statistics.median(runs)


@dataclass
class Result:
    name: str
    subject_s: float
    baseline_s: float
    baseline_name: str
    target: float | None = None  # the subject/baseline ratio to stay at or below
    subject_runs: Sequence[float] = ()  # each repetition, seconds (the spread is printed from them)
    baseline_runs: Sequence[float] = ()

    @property
    def ratio(self) -> float:
        return self.subject_s / self.baseline_s

    @property
    def noise(self) -> float:
        """How far the ratio could move by the measurement's own spread alone (in ratio units)."""
        runs = self.baseline_runs or self.subject_runs
        return self.ratio * relative_spread(runs)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        if self.noise > abs(self.ratio - self.target):
            return INCONCLUSIVE
        return MET if self.ratio <= self.target else MISSED


def timed_runs(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> list[float]:
    """The time of ``number`` calls of ``fn``, in seconds, for each of ``repeat`` rounds."""
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append(time.perf_counter() - started)
    return rounds


def median_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Median over ``repeat`` rounds of the time for ``number`` calls, in seconds."""
    return statistics.median(timed_runs(fn, repeat, number))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}" if seconds < 10 else f"{seconds * 1000:.0f}"


def _spread_text(runs: Sequence[float], scale: float = 1.0) -> str:
    if len(runs) < 2:
        return ""
    q1, q3 = quartiles(runs)
    return f" [IQR {_ms(q1 / scale)}-{_ms(q3 / scale)}, n={len(runs)}]"


def describe(r: Result) -> str:
    """One line: subject and baseline (median, interquartile range), ratio, and the verdict against the target."""
    line = (
        f"{r.name:<44} {_ms(r.subject_s):>9} ms{_spread_text(r.subject_runs)}   baseline ({r.baseline_name}) "
        f"{_ms(r.baseline_s):>9} ms{_spread_text(r.baseline_runs)}   ratio {r.ratio:6.3f}x"
    )
    if r.target is not None:
        line += f"   target <= {r.target:.2f}x (noise +/-{r.noise:.3f}): {r.verdict}"
    return line


def print_results(results: list[Result]) -> None:
    for r in results:
        print(describe(r), flush=True)


class BenchEnv:
    """A fresh data dir with a migrated SQLite database and the embedded Redis, for the whole run.

    ``PYRUN_BENCH_POSTGRES=postgres://user@host:port/db``: a throwaway database created next to ``db`` on that
    server instead of SQLite (dropped afterwards), to measure the platform on PostgreSQL.
    """

    def __init__(self, *, quick: bool = True) -> None:
        # ``make bench``: few, well-chosen repetitions (minutes); ``make bench-full``: the long statistical runs.
        self.quick = quick

    def rounds(self, quick: int, full: int) -> int:
        """How many repetitions a measurement gets in this run."""
        return quick if self.quick else full

    def __enter__(self) -> BenchEnv:
        self._tmp = tempfile.TemporaryDirectory(prefix="pyrun-bench-")
        os.environ["PYRUN_DATA_DIR"] = self._tmp.name
        for var in ("DATABASE_URL", "REDIS_URL"):
            os.environ.pop(var, None)
        self._postgres = os.environ.get("PYRUN_BENCH_POSTGRES", "")
        if self._postgres:
            os.environ["DATABASE_URL"] = _throwaway_database(self._postgres, f"pyrun_bench_{os.getpid()}")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyrun_web.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from pyrun_web.infra import embedded_redis

        self.redis = embedded_redis.start(settings.EMBEDDED_REDIS_DIR, settings.EMBEDDED_REDIS_SOCKET)
        call_command("migrate", "--noinput", "-v", "0")
        self.data_dir = settings.DATA_DIR
        return self

    def __exit__(self, *exc) -> None:
        self.redis.terminate()
        self.redis.wait(10)
        self._tmp.cleanup()
        if self._postgres:
            from django.db import connections

            connections.close_all()
            _drop_database(self._postgres, f"pyrun_bench_{os.getpid()}")


def _admin(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _throwaway_database(url: str, name: str) -> str:
    """A new empty database ``name`` on the server of ``url``; its URL."""
    from urllib.parse import urlsplit, urlunsplit

    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _drop_database(url: str, name: str) -> None:
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
