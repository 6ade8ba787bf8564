"""``pyrun-web``: start the platform.

``pyrun-web up`` is what ``make up`` runs: migrate, first-start setup, then the ASGI server, a Celery
worker and Celery beat (and the embedded Redis when ``REDIS_URL`` is unset), supervised together: if one
dies the others are stopped; Ctrl-C or SIGTERM stops all of them cleanly. ``web``, ``worker`` and ``beat``
run one process each (the docker-compose services).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

STOP_GRACE_SECONDS = 15


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: a child must not outlive a launcher that was SIGKILLed.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyrun_web.settings")
    import django

    django.setup()


def _manage(*argv: str, **options) -> None:
    from django.core.management import call_command

    call_command(*argv, **options)


def web_argv(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "pyrun_web.asgi:application",
        "--host", host, "--port", str(port), "--lifespan", "off", "--no-server-header",
        "--proxy-headers", "--ws", "websockets-sansio",
    ]  # fmt: skip


def worker_argv() -> list[str]:
    concurrency = os.environ.get("PYRUN_WORKER_CONCURRENCY", "2")
    # Both queues: the default one (jobs, housekeeping) and `builds` (runtime builds, see CELERY_TASK_ROUTES).
    return [sys.executable, "-m", "celery", "-A", "pyrun_web", "worker", "-l", "INFO", "-c", concurrency,
            "-Q", "celery,builds"]  # fmt: skip


def beat_argv(data_dir) -> list[str]:
    schedule = str(data_dir / "celerybeat-schedule")
    return [sys.executable, "-m", "celery", "-A", "pyrun_web", "beat", "-l", "INFO", "-s", schedule]


class Supervisor:
    """Runs children in their own sessions so a terminal's Ctrl-C reaches only us; we stop them in order."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False

    def add(self, name: str, process: subprocess.Popen) -> None:
        self.children.append((name, process))

    def spawn(self, name: str, argv: list[str]) -> None:
        self.add(name, subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent))

    def stop(self, *_args) -> None:
        self.stopping = True

    def wait(self) -> int:
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        code = 0
        while not self.stopping:
            for name, process in self.children:
                if process.poll() is not None:
                    print(f"pyrun-web: {name} exited with {process.returncode}; stopping", flush=True)
                    code = process.returncode or 1
                    self.stopping = True
                    break
            time.sleep(0.2)
        self.shutdown()
        return code

    def shutdown(self) -> None:
        # Reverse order: web and workers first, Redis last, so nobody loses its broker mid-shutdown.
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    print(f"pyrun-web: {name} did not stop in {STOP_GRACE_SECONDS}s; killing", flush=True)
                    process.kill()
                    process.wait()
        print("pyrun-web: stopped", flush=True)


def _wait_for_web(url: str, supervisor: Supervisor, timeout: float = 60.0) -> None:
    """Print the login banner only once the server answers, so it is the last thing the user sees."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in supervisor.children:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} during start-up")
        try:
            if httpx.get(url + "api/v1/health/", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the web server did not answer at {url} within {timeout:.0f}s")


def up(host: str, port: int) -> int:
    _django_setup()
    from django.conf import settings

    from pyrun_web import sandbox
    from pyrun_web.infra import embedded_redis

    supervisor = Supervisor()
    if settings.REDIS_IS_EMBEDDED and not embedded_redis.is_up(settings.EMBEDDED_REDIS_SOCKET):
        supervisor.add(
            "redis",
            embedded_redis.start(
                settings.EMBEDDED_REDIS_DIR,
                settings.EMBEDDED_REDIS_SOCKET,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            ),
        )
    try:
        _manage("migrate", "--noinput", "-v", "0")
        _manage("collectstatic", "--noinput", "-v", "0")
        supervisor.spawn("web", web_argv(host, port))
        supervisor.spawn("worker", worker_argv())
        supervisor.spawn("beat", beat_argv(settings.DATA_DIR))
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        url = f"http://{shown_host}:{port}/"
        _wait_for_web(url, supervisor)
        print("\n" + "=" * 72, flush=True)
        _manage("bootstrap_demo", url=url)
        print(sandbox.describe(), flush=True)
        print(f"data dir: {settings.DATA_DIR}  (Ctrl-C stops everything)\n" + "=" * 72 + "\n", flush=True)
    except BaseException:
        supervisor.shutdown()
        raise
    return supervisor.wait()


def healthcheck(port: int) -> int:
    import httpx

    host = (os.environ.get("PYRUN_ALLOWED_HOSTS") or "localhost").split(",")[0].strip().lstrip(".") or "localhost"
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health/", headers={"Host": host}, timeout=10)
    except httpx.HTTPError as exc:
        print(f"unreachable: {exc}")
        return 1
    print(response.text)
    return 0 if response.status_code == 200 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyrun-web", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "web"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--host", default=os.environ.get("PYRUN_HOST", "127.0.0.1"))
        cmd.add_argument("--port", type=int, default=int(os.environ.get("PYRUN_PORT", "8000")))
    check = sub.add_parser("healthcheck", help="exit 0 when the local web server reports ok or degraded")
    check.add_argument("--port", type=int, default=int(os.environ.get("PYRUN_PORT", "8000")))
    sub.add_parser("worker")
    sub.add_parser("beat")
    sub.add_parser("migrate")
    args = parser.parse_args(argv)

    if args.command == "up":
        return up(args.host, args.port)
    if args.command == "healthcheck":
        return healthcheck(args.port)
    if args.command == "migrate":
        _django_setup()
        _manage("migrate", "--noinput")
        _manage("collectstatic", "--noinput", "-v", "0")
        return 0
    if args.command == "web":
        os.execv(sys.executable, web_argv(args.host, args.port))
    if args.command == "worker":
        os.execv(sys.executable, worker_argv())
    _django_setup()
    from django.conf import settings

    os.execv(sys.executable, beat_argv(settings.DATA_DIR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
