"""A folder that seeds a new workspace with a copy of its files: a template's or a pipeline's (see
``workspaces.services.WorkspaceSource``).

It lives here, below workspaces: templates are made of it, and workspaces (which list the templates) and
pipelines (above both) use it from here."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

ALWAYS_IGNORED = frozenset({"__pycache__", ".DS_Store"})


@dataclass(frozen=True)
class FolderSource:
    slug: str  # recorded as the workspace's template
    folder: Path
    ignored: frozenset[str] = ALWAYS_IGNORED  # names of files or folders, at any depth, that are not copied

    def files(self) -> list[str]:
        """Relative POSIX paths of the folder's files, sorted."""
        if not self.folder.is_dir():
            return []
        return sorted(
            path.relative_to(self.folder).as_posix()
            for path in self.folder.rglob("*")
            if path.is_file() and not self.ignored & set(path.relative_to(self.folder).parts)
        )

    def size(self) -> int:
        return sum((self.folder / rel).stat().st_size for rel in self.files())

    def copy_into(self, target: Path) -> None:
        """Copy the files into an existing, empty folder."""
        for rel in self.files():
            destination = target / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.folder / rel, destination)
