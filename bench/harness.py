"""Shared pieces of the benchmarks: a throwaway platform and a timing helper that reports medians."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    subject_s: float
    baseline_s: float
    baseline_name: str

    @property
    def ratio(self) -> float:
        return self.subject_s / self.baseline_s


def median_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Median over ``repeat`` rounds of the time for ``number`` calls, in seconds."""
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append(time.perf_counter() - started)
    return statistics.median(rounds)


def print_results(results: list[Result]) -> None:
    for r in results:
        print(
            f"{r.name:<44} {r.subject_s * 1000:9.2f} ms   baseline ({r.baseline_name}) "
            f"{r.baseline_s * 1000:9.2f} ms   ratio {r.ratio:6.2f}x",
            flush=True,
        )


class BenchEnv:
    """A fresh data dir with a migrated SQLite database and the embedded Redis, for the whole run.

    ``PYRUN_BENCH_POSTGRES=postgres://user@host:port/db``: a throwaway database created next to ``db`` on that
    server instead of SQLite (dropped afterwards), to measure the platform on PostgreSQL.
    """

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
