"""``pyrun run W ENTRYPOINT [ARGS...]``: start a job, and with ``--wait``/``--follow`` see it to its end."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

from pyrun_cli import watch, workspaces
from pyrun_cli.client import Api
from pyrun_cli.commands import Commands
from pyrun_cli.errors import EXIT_BY_STATE, TERMINAL_STATES, CliError, Exit

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def add_parsers(commands: Commands) -> None:
    parser = commands.add("run", run, takes_script_args=True)
    parser.add_argument("workspace", metavar="W")
    parser.add_argument("entrypoint", metavar="ENTRYPOINT", help="path of the script in the workspace")
    parser.add_argument("args", nargs="*", metavar="ARGS", default=[])
    parser.add_argument("--backend", "-b", help="executor backend, e.g. lithops-localhost or dask-local")
    parser.add_argument(
        "--env",
        "-e",
        action="append",
        default=[],
        metavar="K=V",
        help="environment variable for the job (repeatable); a bare K copies K from this environment",
    )
    parser.add_argument("--wait", action="store_true", help="wait for the end; exit code follows the job's state")
    parser.add_argument("--follow", "-f", action="store_true", help="stream the job's output (implies --wait)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stdout")
    parser.add_argument(
        "--timeout", type=_positive_seconds, metavar="S", help="stop waiting after S seconds: cancel the job, exit 4"
    )


def run(api: Api, args: argparse.Namespace) -> int:
    """run a script of a workspace as a job

    Start ENTRYPOINT of workspace W (id or slug) as a job; ARGS go to the script (put them after `--` when they
    start with -). Without --wait/--follow, prints the job id and exits 0.
    """
    body: dict = {"entrypoint": args.entrypoint}
    if args.backend:
        body["backend"] = args.backend
    if args.args:
        body["args"] = list(args.args)
    if args.env:
        body["env"] = parse_env(args.env)
    workspace = workspaces.resolve(api, args.workspace)
    started = time.monotonic()
    job = api.post(f"workspaces/{workspace['id']}/runs/", json=body, idempotent=False)
    if not (args.wait or args.follow or args.timeout is not None):
        if args.json:
            watch.report(api, job, as_json=True)
        else:
            print(job["id"])
        return Exit.OK

    state = job.get("state", "queued")
    print(f"[pyrun] job {job['id']} {state}: {args.entrypoint} in {args.workspace}", file=sys.stderr, flush=True)
    deadline = None if args.timeout is None else started + args.timeout
    try:
        with watch.terminate_as_interrupt():
            job = watch.wait_for(api, job["id"], follow=args.follow, deadline=deadline)
    except KeyboardInterrupt:
        return _stop(api, job, args, "interrupted", Exit.CANCELLED, started)
    except watch.GaveUp:
        return _stop(api, job, args, f"still not done after {args.timeout:g} s", Exit.TIMED_OUT, started)
    watch.report(api, job, as_json=args.json, fallback_seconds=time.monotonic() - started)
    return EXIT_BY_STATE.get(job["state"], Exit.FAILED)


def _stop(api: Api, job: dict, args: argparse.Namespace, why: str, code: Exit, started: float) -> int:
    """Cancel the job we stopped waiting for. Exits ``code``, unless the job ended on its own meanwhile: then
    its state decides, as if we had waited."""
    print(f"\n[pyrun] {why}: cancelling job {job['id']}", file=sys.stderr, flush=True)
    try:
        job = watch.cancel(api, job["id"])
    except CliError as exc:
        print(f"[pyrun] could not cancel job {job['id']}: {exc.message}", file=sys.stderr)
    except KeyboardInterrupt:  # a second Ctrl-C: leave now
        return code
    watch.report(api, job, as_json=args.json, fallback_seconds=time.monotonic() - started)
    if job.get("state") in TERMINAL_STATES and job["state"] != "cancelled":
        return EXIT_BY_STATE[job["state"]]
    return code


def parse_env(items: list[str]) -> dict[str, str]:
    env = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not ENV_NAME.match(name):
            raise CliError(f"--env {item!r}: expected NAME=VALUE (or NAME) with a valid variable name.")
        if not sep:
            if name not in os.environ:
                raise CliError(f"--env {name}: {name} is not set here (give NAME=VALUE).")
            value = os.environ[name]
        env[name] = value
    return env


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value
