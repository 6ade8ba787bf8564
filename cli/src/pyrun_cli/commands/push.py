"""``pyrun push DIR --workspace W``: make the workspace hold DIR's files.

The file API's etags identify a version on the server (inode, mtime, size), not content, so there is nothing
to compare local files with: every push sends all files, packed in one zip per ~64 MiB, which the server
unpacks in place (one request instead of one per file). With ``--delete``, remote paths that DIR does not have
are removed afterwards, except those the ignore rules match (like ``rsync --delete``: a run's
``__pycache__`` or a `.pyrunignore`d `data/` survives).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import quote

from pyrun_cli import bundle, workspaces
from pyrun_cli.client import Api, ApiError
from pyrun_cli.commands import Commands
from pyrun_cli.errors import CliError, Exit
from pyrun_cli.ignore import Ignore


def add_parsers(commands: Commands) -> None:
    parser = commands.add("push", run)
    parser.add_argument("dir", metavar="DIR", type=Path)
    parser.add_argument("--workspace", "-w", required=True, metavar="W", help="workspace id or slug")
    parser.add_argument("--create", action="store_true", help="create the workspace (template empty) if missing")
    parser.add_argument(
        "--delete", action="store_true", help="remove remote files and folders DIR does not have (ignored ones stay)"
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="also skip these (.pyrunignore syntax)"
    )


def run(api: Api, args: argparse.Namespace) -> int:
    """upload a folder into a workspace

    Upload DIR's files into a workspace (replacing files of the same path). Always skipped: .git, __pycache__,
    .venv, node_modules; plus the patterns of DIR/.pyrunignore and --exclude.
    """
    root: Path = args.dir
    if not root.is_dir():
        raise CliError(f"{root} is not a folder.")
    ignore = Ignore.for_folder(root, args.exclude)
    local = bundle.scan(root, ignore)
    bundle.warn_skipped(local)
    workspace = workspaces.resolve(api, args.workspace, create=args.create)
    base = f"workspaces/{workspace['id']}/"

    remote: list[dict] = []
    if args.delete:
        tree = api.get(base + "files/")
        if tree.get("truncated"):
            raise CliError("The workspace has too many files to compare with DIR; nothing was pushed (drop --delete).")
        remote = tree["entries"]
    clashing = clashes(remote, local)
    deleted = _delete(api, base, clashing)  # else the upload is refused: a file cannot become a folder

    uploaded = 0
    for paths in bundle.batches(local):
        with bundle.build_zip(root, paths) as archive:
            entries = api.post(
                base + "upload/",
                data={"path": ""},
                files={"archives": ("push.zip", archive, "application/zip")},
                idempotent=True,  # unpacking the same zip twice leaves the same files
            )
        uploaded += len(entries)

    if args.delete:
        deleted += _delete(api, base, deletions(remote, local, ignore, already=set(clashing)))
    name = workspace.get("slug") or workspace["id"]
    print(f"Pushed {root} to workspace {name} (id {workspace['id']}): uploaded {uploaded} files, deleted {deleted}.")
    return Exit.OK


def clashes(remote: list[dict], local: bundle.LocalTree) -> list[str]:
    """Remote paths whose kind (file or folder) differs from the local one at the same path."""
    found = []
    for entry in remote:
        path, is_dir = entry["path"], entry["type"] == "dir"
        if (is_dir and path in local.files) or (not is_dir and path in local.dirs):
            found.append(path)
    return _topmost(found)


def deletions(remote: list[dict], local: bundle.LocalTree, ignore: Ignore, already: set[str]) -> list[str]:
    """Remote paths DIR lacks, as few as possible (a whole folder in one call), sparing ignored paths and the
    folders that hold them."""
    wanted = local.files.keys() | local.dirs
    kept = {e["path"] for e in remote if e["path"] in wanted or ignore(e["path"], is_dir=e["type"] == "dir")}
    protected = {ancestor for path in kept for ancestor in _ancestors(path)}
    doomed = [e["path"] for e in remote if e["path"] not in kept and e["path"] not in protected]
    return [path for path in _topmost(doomed) if not any(p in already for p in (path, *_ancestors(path)))]


def _delete(api: Api, base: str, paths: list[str]) -> int:
    for path in paths:
        try:
            api.delete(base + "files/" + quote(path, safe="/"))
        except ApiError as exc:
            if exc.status != 404:  # gone already: that is what we wanted
                raise
    return len(paths)


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _topmost(paths: list[str]) -> list[str]:
    chosen = set(paths)
    return sorted(p for p in chosen if not any(a in chosen for a in _ancestors(p)))
