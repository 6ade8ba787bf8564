"""``pyrun health``, ``whoami`` and ``login``: reaching the platform and proving who you are."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from pyrun_cli import config
from pyrun_cli.client import Api, ApiError
from pyrun_cli.commands import Commands
from pyrun_cli.errors import CliError, Exit


def add_parsers(commands: Commands) -> None:
    commands.add("health", health_command)
    commands.add("whoami", whoami_command)
    commands.add("login", login_command)


def health_command(api: Api, args: argparse.Namespace) -> int:
    """platform health (no token needed)"""
    return _dump(api, "health/")


def whoami_command(api: Api, args: argparse.Namespace) -> int:
    """user, org and role the token acts as"""
    return _dump(api, "me/")


def _dump(api: Api, path: str) -> int:
    """Print the API's JSON as is; 1 on an error answer (what these two commands always did)."""
    response = api.raw("GET", path)
    try:
        body = response.json()
    except ValueError:
        body = {"error": {"id": "cli:platform:bad-response", "message": response.text[:500]}}
    json.dump(body, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return Exit.OK if response.is_success else Exit.FAILED


def login_command(api: Api, args: argparse.Namespace) -> int:
    """check a token and save it with the URL

    Verify the token (--token, else $PYRUN_TOKEN, else one line on stdin, else a prompt) against --url and save
    both, readable by you only, in $PYRUN_CONFIG or ~/.config/pyrun/config.json.
    """
    token = args.token or os.environ.get("PYRUN_TOKEN") or _read_token()
    if not token:
        raise CliError("No token given (--token, $PYRUN_TOKEN, stdin or the prompt).")
    with Api(api.url, token, args.org) as checked:
        try:
            me = checked.get("me/")
        except ApiError as exc:
            raise CliError(f"{api.url} refused the token: {exc.message}", exc.code) from exc
    path = config.config_path()
    config.save(path, config.Settings(url=api.url, token=token, org=args.org))
    org = me.get("org") or {}
    print(
        f"Logged in to {api.url} as {me['user']['email']}, {me.get('role')} of {org.get('name')} "
        f"({org.get('slug')}). Saved to {path}."
    )
    return Exit.OK


def _read_token() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    try:
        return getpass.getpass("API token: ").strip()
    except EOFError:
        return ""
