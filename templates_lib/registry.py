"""The workspace templates: plain folders under ``templates/<slug>/`` plus the metadata the API lists.

A workspace created from a template gets a copy of its folder; the folder holds nothing but the user's files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from templates_lib.sources import FolderSource

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Template:
    slug: str
    name: str
    description: str
    entrypoint: str | None
    # The backend its Run button uses: a Dask script on a Lithops backend would run without its tasks watched.
    default_backend: str | None = None

    @property
    def folder(self) -> Path:
        return TEMPLATES_DIR / self.slug

    @property
    def source(self) -> FolderSource:
        return FolderSource(slug=self.slug, folder=self.folder)

    def files(self) -> list[str]:
        return self.source.files()

    def size(self) -> int:
        return self.source.size()

    def copy_into(self, target: Path) -> None:
        self.source.copy_into(target)


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
        Template(
            "dask",
            "Dask",
            "Start a local Dask cluster, submit work to it and gather the results.",
            "example.py",
            default_backend="dask-local",
        ),
        Template("empty", "Empty", "An empty workspace.", None),
    )
}
DEFAULT_TEMPLATE = "empty"


def all_templates() -> list[Template]:
    return list(TEMPLATES.values())


def get_template(slug: str) -> Template:
    """The template called ``slug``; ``KeyError`` when there is none (callers validate choices first)."""
    return TEMPLATES[slug]
