"""Shared fixtures: real Redis (embedded when REDIS_URL is unset), tenants, API clients, a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings

from tests.tenants import Tenants, make_tenants


@pytest.fixture(scope="session", autouse=True)
def redis_server():
    """Start the embedded Redis for the session when the settings point at it and it is not up."""
    from pyrun_web.infra import embedded_redis

    process = None
    if settings.REDIS_IS_EMBEDDED and not embedded_redis.is_up(settings.EMBEDDED_REDIS_SOCKET):
        process = embedded_redis.start(settings.EMBEDDED_REDIS_DIR, settings.EMBEDDED_REDIS_SOCKET)
    yield
    if process is not None:
        process.terminate()
        process.wait(10)


@pytest.fixture(autouse=True)
def _clean_cache(redis_server):
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def tenants(db) -> Tenants:
    return make_tenants()


def stop_process(process: subprocess.Popen, grace: float = 20) -> None:
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_env(extra: dict | None = None) -> dict:
    """The environment of a platform process started by a test: the test database, same Redis and data."""
    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env["REDIS_URL"] = settings.REDIS_URL
    env["PYRUN_DATA_DIR"] = str(settings.DATA_DIR)
    env.update(extra or {})
    return env


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker process on the test database; tests using it commit their data."""
    from pyrun_web.celery import app

    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pyrun_web", "worker", "-l", "WARNING", "-c", "1",
         "--without-mingle", "--without-gossip", "-n", f"test-{os.getpid()}@%h", "-Q", "celery,builds"],
        env=worker_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}")
        if app.control.ping(timeout=0.5, destination=[f"test-{os.getpid()}@{os.uname().nodename}"]):
            break
    else:
        process.kill()
        raise RuntimeError("celery worker did not answer a ping within 60s")
    yield process
    stop_process(process)


MOTO_REGION = "eu-west-1"


@pytest.fixture
def aws_mock(monkeypatch):
    """Every boto3 call goes to moto (the AWS stand-in for tests); the platform's own credentials are fake and no
    endpoint override from the environment leaks in."""
    from moto import mock_aws

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_DEFAULT_REGION", MOTO_REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "platform-testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "platform-testing")
    with mock_aws():
        yield


def make_bucket(name: str) -> None:
    import boto3

    boto3.client("s3", region_name=MOTO_REGION).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": MOTO_REGION}
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def uvicorn_server(env: dict[str, str]) -> Iterator[str]:
    """The real ASGI app (HTTP + websockets) under uvicorn on a free port with ``env``; yields its URL."""
    import httpx

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pyrun_web.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--lifespan", "off", "--ws", "websockets-sansio", "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        try:
            httpx.get(f"{url}/login/", timeout=2)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.2)
    try:
        yield url
    finally:
        stop_process(process)


@pytest.fixture
def live_server_url(transactional_db):
    """A uvicorn per test, on the test database."""
    with uvicorn_server(worker_env()) as url:
        yield url


# --- The jobs worker (tests of real runs: jobs, monitoring) -----------------------------------------------


@pytest.fixture(scope="module")
def _module_worker(django_db_setup, django_db_blocker, redis_server):
    from pyrun_web.celery import app

    name = f"jobs-{os.getpid()}-{time.monotonic_ns()}@{os.uname().nodename}"
    with django_db_blocker.unblock():
        env = worker_env()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pyrun_web", "worker", "-l", "WARNING", "-c", "2",
         "--without-mingle", "--without-gossip", "-n", name, "-Q", "celery,builds"],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5, destination=[name]):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the jobs worker did not start")
    process.worker_name = name
    yield process
    stop_process(process)


@pytest.fixture
def jobs_worker(_module_worker, transactional_db):
    """The module's worker, for a test whose data is committed (the worker reads it from the database)."""
    yield _module_worker
    # A test that failed half-way must not leave a job running into the next test.
    from jobs.models import ACTIVE_STATES, Job

    for job in Job.objects.filter(state__in=ACTIVE_STATES):
        job.cancel()
    # ... nor a worker still writing the log of a job whose rows the flush is about to delete.
    deadline = time.monotonic() + 15
    while Job.objects.filter(started_at__isnull=False, log_complete=False).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    # ... nor a task still in its last transaction (a job's end starts the next queued job): the flush's TRUNCATE
    # and that transaction would deadlock.
    from pyrun_web.celery import app

    inspect = app.control.inspect(destination=[_module_worker.worker_name], timeout=1.0, limit=1)
    while time.monotonic() < deadline and any((inspect.active() or {}).values()):
        time.sleep(0.1)
