"""The workspace templates: plain folders under ``templates/<slug>/`` plus the metadata the API lists.

A workspace created from a template gets a copy of its folder; the folder holds nothing but the user's files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
_IGNORED = {"__pycache__", ".DS_Store"}


@dataclass(frozen=True)
class Template:
    slug: str
    name: str
    description: str
    entrypoint: str | None

    @property
    def folder(self) -> Path:
        return TEMPLATES_DIR / self.slug

    def files(self) -> list[str]:
        """Relative POSIX paths of the template's files, sorted."""
        if not self.folder.is_dir():
            return []
        return sorted(
            path.relative_to(self.folder).as_posix()
            for path in self.folder.rglob("*")
            if path.is_file() and not _IGNORED & set(path.relative_to(self.folder).parts)
        )

    def size(self) -> int:
        return sum((self.folder / rel).stat().st_size for rel in self.files())

    def copy_into(self, target: Path) -> None:
        """Copy the template's files into an existing, empty folder."""
        for rel in self.files():
            destination = target / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.folder / rel, destination)


TEMPLATES: dict[str, Template] = {
    template.slug: template
    for template in (
        Template("python", "Python", "A plain Python script and its runtime environment.", "main.py"),
        Template(
            "lithops",
            "Lithops",
            "Map a function over data with Lithops: local processes, or AWS Lambda from the workspace settings.",
            "example.py",
        ),
        Template("dask", "Dask", "Start a local Dask cluster, submit work to it and gather the results.", "example.py"),
        Template("empty", "Empty", "An empty workspace.", None),
    )
}
DEFAULT_TEMPLATE = "empty"


def all_templates() -> list[Template]:
    return list(TEMPLATES.values())


def get_template(slug: str) -> Template:
    """The template called ``slug``; ``KeyError`` when there is none (callers validate choices first)."""
    return TEMPLATES[slug]
