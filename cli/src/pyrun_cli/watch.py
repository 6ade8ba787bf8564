"""Waiting for a job: poll its state or stream its log until it ends, then summarise it."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO
from urllib.parse import quote

from pyrun_cli.client import Api, ApiError
from pyrun_cli.errors import TERMINAL_STATES, CliError

LOG_PAGE = 1000
ALREADY_FINISHED = "job:user:already-finished"


class GaveUp(Exception):
    """``--timeout`` ran out before the job ended."""


class Backoff:
    """Poll quickly while things happen, slow down while nothing does."""

    def __init__(self, initial: float, maximum: float, factor: float = 1.5) -> None:
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.current = initial

    def reset(self) -> None:
        self.current = self.initial

    def next(self) -> float:
        delay, self.current = self.current, min(self.current * self.factor, self.maximum)
        return delay


def job_path(job_id: Any, suffix: str = "") -> str:
    return f"jobs/{quote(str(job_id), safe='')}/{suffix}"


def get_job(api: Api, job_id: Any) -> dict:
    try:
        return api.get(job_path(job_id))
    except ApiError as exc:
        if exc.status == 404:
            raise CliError(f"No job {job_id} in this organisation.") from exc
        raise


def print_chunks(chunks: list[dict], out: TextIO | None = None, err: TextIO | None = None) -> None:
    out, err = out or sys.stdout, err or sys.stderr
    for chunk in chunks:
        text, stream = chunk.get("text", ""), chunk.get("stream")
        if stream == "stdout":
            out.write(text)
        elif stream in ("stderr", "task"):  # task: what the job's tasks printed, "[task M000/3] ..." (not the
            err.write(text)  # script's stdout, which a pipeline may be reading)
        else:  # the platform's own notes (runtime build, sandbox, limits)
            err.write("".join(f"[pyrun] {line}\n" for line in text.splitlines()))
    out.flush()
    err.flush()


def print_all_logs(api: Api, job_id: Any) -> int:
    """Everything logged so far; returns the last sequence number seen."""
    after = 0
    while True:
        page = api.get(job_path(job_id, "logs/"), params={"after": after, "limit": LOG_PAGE})
        print_chunks(page["chunks"])
        if not page["chunks"]:
            return after
        after = page["next_after"]


def wait_for(
    api: Api,
    job_id: Any,
    *,
    follow: bool,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """The job once it ended; with ``follow``, its log is printed as it arrives (all of it, from the start)."""
    after = 0
    backoff = Backoff(0.2, 2.0) if follow else Backoff(0.5, 3.0)
    while True:
        if follow:
            page = api.get(job_path(job_id, "logs/"), params={"after": after, "limit": LOG_PAGE})
            print_chunks(page["chunks"])
            after = page.get("next_after", after)
            if page.get("complete"):
                job = get_job(api, job_id)
                if job["state"] in TERMINAL_STATES:
                    return job
            if page["chunks"]:
                backoff.reset()
                if len(page["chunks"]) >= LOG_PAGE:
                    continue  # more is waiting: no pause
        else:
            job = get_job(api, job_id)
            if job["state"] in TERMINAL_STATES:
                return job
        if deadline is not None and time.monotonic() >= deadline:
            raise GaveUp
        delay = backoff.next()
        sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))


def cancel(api: Api, job_id: Any) -> dict:
    """Cancel the job; a job that ended meanwhile (409 job:user:already-finished) is returned as it ended."""
    try:
        return api.post(job_path(job_id, "cancel/"), idempotent=True)  # cancelling twice is harmless
    except ApiError as exc:
        if exc.status == 404:
            raise CliError(f"No job {job_id} in this organisation.") from exc
        if exc.error_id != ALREADY_FINISHED:
            raise
    return get_job(api, job_id)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """CI runners stop a step with SIGTERM (GitHub Actions: SIGINT, then SIGTERM): treat both like Ctrl-C.

    SIGINT is set too: a process started in the background by a non-interactive shell (``cmd &`` in a CI script)
    inherits SIGINT ignored, and Python then never raises KeyboardInterrupt, so the job would be left running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def summary(api: Api, job: dict, *, fallback_seconds: float | None = None) -> dict:
    error = job.get("error") or None
    return {
        "job": job["id"],
        "state": job.get("state"),
        "exit_code": job.get("exit_code"),
        "error": error,
        "duration_seconds": _duration(job, fallback_seconds),
        "url": job.get("url") or f"{api.url}/api/v1/{job_path(job['id'])}",
    }


def report(api: Api, job: dict, *, as_json: bool, fallback_seconds: float | None = None) -> None:
    """The last word on a job: a JSON line on stdout, or a human line on stderr (stdout is the job's)."""
    info = summary(api, job, fallback_seconds=fallback_seconds)
    if as_json:
        print(json.dumps(info), flush=True)
        return
    line = f"[pyrun] job {info['job']} {info['state']}"
    if info["exit_code"] is not None:
        line += f" (exit code {info['exit_code']})"
    if info["duration_seconds"] is not None:
        line += f" after {info['duration_seconds']:.1f} s"
    if isinstance(info["error"], dict) and info["error"].get("message"):
        line += f": {info['error']['message']}"
    print(f"{line}\n[pyrun] {info['url']}", file=sys.stderr, flush=True)


def _duration(job: dict, fallback: float | None) -> float | None:
    if isinstance(job.get("duration_seconds"), int | float):  # the server's: from claim to end
        return round(float(job["duration_seconds"]), 3)
    start, end = _when(job.get("started_at")), _when(job.get("finished_at"))
    if start and end:
        return round((end - start).total_seconds(), 3)
    return None if fallback is None else round(fallback, 3)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
