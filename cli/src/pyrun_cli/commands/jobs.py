"""``pyrun logs|cancel|status JOB``: look at or stop a job started earlier."""

from __future__ import annotations

import argparse
import sys

from pyrun_cli import watch
from pyrun_cli.client import Api
from pyrun_cli.commands import Commands
from pyrun_cli.errors import EXIT_BY_STATE, TERMINAL_STATES, Exit

INTERRUPTED = 130  # the shell's code for "stopped by SIGINT"


def add_parsers(commands: Commands) -> None:
    logs = commands.add("logs", logs_command)
    logs.add_argument("job", metavar="JOB")
    logs.add_argument("--follow", "-f", action="store_true")

    commands.add("cancel", cancel_command).add_argument("job", metavar="JOB")

    status = commands.add("status", status_command)
    status.add_argument("job", metavar="JOB")
    status.add_argument("--json", action="store_true", help="the summary object of `run --json`")


def logs_command(api: Api, args: argparse.Namespace) -> int:
    """print a job's output

    Print the job's output so far. With --follow, keep printing until it ends and exit like `run --wait` (0
    succeeded, 1 failed, 3 cancelled, 4 timed out); Ctrl-C stops following, not the job.
    """
    watch.get_job(api, args.job)  # a clear "no such job" before anything else
    if not args.follow:
        watch.print_all_logs(api, args.job)
        return Exit.OK
    try:
        with watch.terminate_as_interrupt():
            job = watch.wait_for(api, args.job, follow=True)
    except KeyboardInterrupt:
        return INTERRUPTED
    return EXIT_BY_STATE.get(job["state"], Exit.FAILED)


def cancel_command(api: Api, args: argparse.Namespace) -> int:
    """cancel a job

    Idempotent, for CI clean-up steps: a job that has already ended is reported as it ended, exit 0.
    """
    job = watch.cancel(api, args.job)
    if job["state"] == "cancelled" or job["state"] not in TERMINAL_STATES:
        print(f"job {job['id']}: {job['state']}")
    else:
        print(f"job {job['id']}: had already ended ({job['state']})")
    return Exit.OK


def status_command(api: Api, args: argparse.Namespace) -> int:
    """a job's state

    Print the job's state; exits 0 if it was read.
    """
    job = watch.get_job(api, args.job)
    if args.json:
        watch.report(api, job, as_json=True)
        return Exit.OK
    info = watch.summary(api, job)
    line = f"job {info['job']}: {info['state']}"
    if info["exit_code"] is not None:
        line += f" (exit code {info['exit_code']})"
    print(line)
    if isinstance(info["error"], dict) and info["error"].get("message"):
        print(f"error: {info['error']['message']}")
    print(info["url"])
    sys.stdout.flush()
    return Exit.OK
