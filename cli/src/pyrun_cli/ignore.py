"""Which local paths ``pyrun push`` leaves out: a few names always, then ``.pyrunignore`` and ``--exclude``.

Patterns follow a subset of ``.gitignore``: ``#`` comments, ``!`` re-includes, a trailing ``/`` matches folders
only, a pattern with a ``/`` is matched against the whole path from the pushed folder (``**`` spans folders),
one without is matched against every name. Later patterns win; an ignored folder's contents stay ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

ALWAYS_IGNORED = (".git", "__pycache__", ".venv", "node_modules")
IGNORE_FILE = ".pyrunignore"


@dataclass(frozen=True)
class Rule:
    pattern: str
    negated: bool
    dir_only: bool
    anchored: bool

    @classmethod
    def parse(cls, line: str) -> Rule | None:
        line = line.strip()
        if not line or line.startswith("#"):
            return None
        negated = line.startswith("!")
        line = line.removeprefix("!")
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        line = line.lstrip("/")
        return cls(line, negated, dir_only, anchored) if line else None

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if not self.anchored:
            return fnmatchcase(rel.rsplit("/", 1)[-1], self.pattern)
        if fnmatchcase(rel, self.pattern):
            return True
        # `**/x` also matches `x` at the top, as in git.
        return self.pattern.startswith("**/") and fnmatchcase(rel, self.pattern[3:])


class Ignore:
    def __init__(self, patterns: Iterable[str] = ()) -> None:
        lines = [*ALWAYS_IGNORED, *patterns]
        self.rules = [rule for line in lines if (rule := Rule.parse(line)) is not None]

    @classmethod
    def for_folder(cls, root: Path, extra: Iterable[str] = ()) -> Ignore:
        ignore_file = root / IGNORE_FILE
        lines = ignore_file.read_text(errors="replace").splitlines() if ignore_file.is_file() else []
        return cls([*lines, *extra])

    def __call__(self, rel: str, is_dir: bool) -> bool:
        """Whether ``rel`` (relative, ``/``-separated) is ignored, counting ignored parent folders."""
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if self._decide(prefix, is_dir=is_dir or depth < len(parts)):
                return True
        return False

    def _decide(self, rel: str, is_dir: bool) -> bool:
        ignored = False
        for rule in self.rules:
            if rule.matches(rel, is_dir):
                ignored = not rule.negated
        return ignored
