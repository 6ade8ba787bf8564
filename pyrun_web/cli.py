"""``pyrun``: the command-line client CI pipelines use (runs and logs arrive with the jobs issue)."""

from __future__ import annotations

import argparse
import json
import os
import sys

import httpx


def _client(args) -> httpx.Client:
    headers = {"Authorization": f"Token {args.token}"} if args.token else {}
    return httpx.Client(base_url=args.url.rstrip("/") + "/api/v1/", headers=headers, timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyrun", description="PyRun Web client for CI pipelines.")
    parser.add_argument("--url", default=os.environ.get("PYRUN_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("PYRUN_TOKEN"))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("health", help="platform health (no token needed)")
    sub.add_parser("whoami", help="user, org and role the token acts as")
    args = parser.parse_args(argv)

    path = {"health": "health/", "whoami": "me/"}[args.command]
    with _client(args) as client:
        response = client.get(path)
    try:
        body = response.json()
    except ValueError:
        body = {"error": {"id": "cli:platform:bad-response", "message": response.text[:500]}}
    json.dump(body, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
