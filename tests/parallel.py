"""Isolation of pytest-xdist workers, loaded with ``-p tests.parallel`` before Django reads its settings.

Every test process starts real platform processes (Celery workers, servers) that share state through Redis and
the data dir: two test processes on one Redis database would consume each other's Celery messages and flush
each other's cache. So each xdist worker (``gw0``, ``gw1``, ...) gets its own data dir (its embedded Redis,
runtimes, workspaces) and, on a shared Redis, its own pair of databases; pytest-django already gives each one
its own test database.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDIS_DATABASES = 16  # a stock redis-server


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{db}"))


def isolate(worker: str, environ: dict[str, str]) -> None:
    index = int(worker.removeprefix("gw"))
    data_dir = environ.get("PYRUN_DATA_DIR")
    if data_dir:
        own = Path(data_dir) / f"xdist-{worker}"
        own.mkdir(parents=True, exist_ok=True)
        environ["PYRUN_DATA_DIR"] = str(own)
    if environ.get("REDIS_URL"):
        main, cache = 2 + 2 * index, 3 + 2 * index  # 0 and 1 stay for a run without xdist
        if cache >= REDIS_DATABASES:
            raise RuntimeError(f"too many xdist workers for one Redis: {worker}")
        environ["REDIS_URL"] = _with_db(environ["REDIS_URL"], main)
        environ["PYRUN_CACHE_REDIS_DB"] = str(cache)


if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    isolate(worker, os.environ)
