"""``pyrun``: the command-line client of the REST API, for CI pipelines and terminals.

An HTTP client only: stdlib and httpx, never Django or a platform module, so that a CI machine can run it
without the platform's dependencies being importable.
"""

from __future__ import annotations

import argparse
import os
import sys

from pyrun_cli import config
from pyrun_cli.client import Api
from pyrun_cli.commands import Commands, account, jobs, push, run
from pyrun_cli.errors import CliError, Exit

__all__ = ["main"]

GLOBAL_OPTIONS = ("url", "token", "org")

EXIT_CODES = """exit codes:
  0  success (the job succeeded)
  1  the job failed
  2  usage error: bad arguments, unknown workspace or job, refused token, any 4xx answer
  3  the job was cancelled (also: Ctrl-C or SIGTERM while `run` waits, which cancels the job)
  4  the job timed out (also: `run --timeout` ran out, which cancels the job)
  5  the platform stayed unreachable (network errors or 5xx after retries)"""


def build_parser() -> argparse.ArgumentParser:
    # Global options are accepted before and after the command; SUPPRESS keeps a subcommand's parser from
    # overwriting a value given before the command with its default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, help="platform URL (env PYRUN_URL)")
    common.add_argument("--token", default=argparse.SUPPRESS, help="API token (env PYRUN_TOKEN)")
    common.add_argument("--org", default=argparse.SUPPRESS, help="org slug, sent as X-PyRun-Org (env PYRUN_ORG)")
    parser = argparse.ArgumentParser(
        prog="pyrun",
        parents=[common],
        description="PyRun Web client for CI pipelines. Settings: options, else PYRUN_URL/PYRUN_TOKEN/PYRUN_ORG, "
        "else what `pyrun login` saved.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = Commands(sub, [common])
    for group in (account, push, run, jobs):
        group.add_parsers(commands)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    # parse_known_args, not parse_args: it lets a script's ARGS come after options (`run W main.py --wait a b`),
    # and argparse 3.11 cannot do that with a nargs="*" positional alone.
    args, extras = parser.parse_known_args(argv)
    for name in GLOBAL_OPTIONS:  # not parser.set_defaults: it would reset the defaults of the shared actions
        if not hasattr(args, name):
            setattr(args, name, None)
    if extras:
        if not getattr(args, "takes_script_args", False):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        args.args = [*args.args, *_script_args(parser, extras)]
    return args


def _script_args(parser: argparse.ArgumentParser, extras: list[str]) -> list[str]:
    before, _, after = extras, None, []
    if "--" in extras:
        cut = extras.index("--")
        before, after = extras[:cut], extras[cut + 1 :]
    unknown = [arg for arg in before if arg.startswith("-") and arg != "-"]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (script arguments that start with - go after --)")
    return [*before, *after]


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A job's output may hold characters a CI runner's locale cannot print: show them escaped, never crash.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = parse_args(argv)
    try:
        settings = config.resolve(url=args.url, token=args.token, org=args.org)
        with Api(settings.url, settings.token, settings.org) as api:
            return int(args.handler(api, args))
    except CliError as exc:
        print(f"pyrun: {exc.message}", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`pyrun logs 1 | head`): stop quietly, and keep Python's exit flush from failing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.FAILED
