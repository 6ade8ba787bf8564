"""A run's results reach its workspace: after a job succeeds, what it left in ``results/`` of its scratch copy is
copied into the workspace's ``results/`` folder.

Jobs run on a private scratch copy of a snapshot, so nothing else they write survives them; ``results/`` is the one
folder the platform brings back. Files are added or replaced, never deleted (files of earlier runs stay until the
user removes them). The scratch copy is the job's, so it is read without following any symlink (symlinks and special
files are left out) and placed through the workspace's file store: the org's file and workspace quotas apply and the
files land all at once or not at all.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyrun_web.errors import PyrunError
from workspaces import archives

logger = logging.getLogger(__name__)

RESULTS_DIR = "results"


@dataclass(frozen=True)
class CopiedResults:
    files: int
    size: int


def copy_results(workspace: Any, workdir: Path) -> CopiedResults | None:
    """Copy ``workdir/results/`` into the workspace; None when the job left no such folder. PyrunError (quota, file
    too large) when they cannot be placed: nothing is copied then."""
    try:
        st = os.lstat(Path(workdir) / RESULTS_DIR)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):  # a file or a symlink named results
        return None
    bundle = archives.build_zip(Path(workdir) / RESULTS_DIR)  # never follows a symlink, even one swapped in
    try:
        placed = workspace.files.upload(RESULTS_DIR, archives_=[("results.zip", bundle)])
    finally:
        bundle.close()
    return CopiedResults(files=len(placed), size=sum(entry.size for entry in placed))


def copy_results_for_log(workspace: Any, workdir: Path) -> str | None:
    """:func:`copy_results`, as the line the job's log shows (None when there was nothing to copy)."""
    try:
        copied = copy_results(workspace, workdir)
    except PyrunError as error:
        return f"results/ was not copied to the workspace: {error.message}"
    except Exception:  # the run itself went well: its state must not depend on this copy
        logger.exception("could not copy the results of %s", workdir)
        return "results/ was not copied to the workspace: internal error"
    if copied is None or copied.files == 0:
        return None
    return f"Copied results/ to the workspace: {copied.files} file(s), {copied.size} bytes"
