"""Find a workspace by id or slug (and create it on request)."""

from __future__ import annotations

import re

from pyrun_cli.client import Api, ApiError
from pyrun_cli.errors import CliError

MAX_SLUG = 50


def find(api: Api, ref: str) -> dict | None:
    if ref.isdigit():  # an id first; a workspace may still be called "2024", hence the slug below
        try:
            return api.get(f"workspaces/{ref}/")
        except ApiError as exc:
            if exc.status != 404:
                raise
    page = api.get("workspaces/", params={"slug": ref})
    results = page.get("results", []) if isinstance(page, dict) else page
    return results[0] if results else None


def resolve(api: Api, ref: str, *, create: bool = False) -> dict:
    workspace = find(api, ref)
    if workspace is not None:
        return workspace
    if not create:
        raise CliError(f"No workspace {ref!r} (by id or slug) in this organisation; --create makes it.")
    if not is_stable_slug(ref):
        raise CliError(
            f"--create needs a slug (lower-case letters, digits, single - and _, at most 50), not {ref!r}, so that the "
            "next push finds the same workspace."
        )
    return api.post("workspaces/", json={"name": ref, "template": "empty"}, idempotent=False)


def is_stable_slug(name: str) -> bool:
    """Whether the platform would give a workspace of this name this very slug (it slugifies names as Django
    does). Otherwise the next ``--create`` with the same name would not find it and would make a second one."""
    if not name.isascii() or len(name) > MAX_SLUG:
        return False
    slug = re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", name.lower())).strip("-_")
    return bool(slug) and slug == name
