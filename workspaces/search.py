"""Find a string in every text file of a workspace (the IDE's Ctrl+Shift+F).

The workspace is the tenant's: it may hold a million files, a 5 GB log, FIFOs and symlinks to ``/etc`` made in
the terminal. So the search walks it with ``pyrun_web.safe_walk`` (symlinks listed, never followed; FIFOs and
devices never opened), skips files that are too large or binary, and stops at a result limit, a byte budget and a
time budget: a search answers within seconds whatever the tree, flagging what it could not finish (``partial``)
rather than pinning a worker.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyrun_web import safe_walk
from pyrun_web.errors import PyrunError

MAX_QUERY = 200  # characters
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
MAX_FILE_BYTES = 2 * 1024 * 1024  # larger files (data, logs) are not text anyone searches from the IDE
BYTE_BUDGET = 64 * 1024 * 1024  # read at most this much in all
TIME_BUDGET = 5.0  # seconds
LINE_CAP = 240  # characters of a matching line sent back, around the match
SNIFF = 8192  # a NUL in the first bytes: binary, skipped
# The line breaks the editor counts (Monaco's): str.splitlines() would also split at \f, \x1c or U+2028 and
# number the lines differently from what the IDE shows.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Folders of tools, not of the user's code: searching a venv or .git would drown the results.
SKIPPED_FOLDERS = frozenset(
    {".git", "__pycache__", "node_modules", ".venv", "venv", ".mypy_cache", ".ipynb_checkpoints"}
)


@dataclass(frozen=True)
class Match:
    path: str
    line: int  # 1-based
    column: int  # 1-based, in characters of the whole line
    text: str  # the line, or a window of it around the match when it is long
    match_start: int  # where the match is in ``text`` (0-based, characters)
    match_end: int


@dataclass
class SearchResult:
    query: str
    case_sensitive: bool
    results: list[Match] = field(default_factory=list)
    truncated: bool = False  # more matches than the limit
    partial: bool = False  # the byte or time budget ran out: files were left unsearched
    files_searched: int = 0
    files_skipped: int = 0  # too large, binary or unreadable


def parse_limit(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise PyrunError("workspaces:user:bad-search-limit", limit=raw[:20], max=MAX_LIMIT)
    return int(raw)


def check_query(query: str) -> str:
    if not query.strip():
        raise PyrunError("workspaces:user:search-query-empty")
    if len(query) > MAX_QUERY or "\n" in query:
        raise PyrunError("workspaces:user:search-query-too-long", max=MAX_QUERY)
    return query


def _window(line: str, start: int, end: int) -> tuple[str, int, int]:
    """The line, or LINE_CAP characters of it with the match inside (a minified file has 100 kB lines)."""
    if len(line) <= LINE_CAP:
        return line, start, end
    begin = max(0, min(start - LINE_CAP // 4, len(line) - LINE_CAP))
    text = line[begin : begin + LINE_CAP]
    return text, start - begin, min(end - begin, len(text))


def search(
    root: Path,
    query: str,
    *,
    case_sensitive: bool = False,
    limit: int = DEFAULT_LIMIT,
    byte_budget: int = BYTE_BUDGET,
    time_budget: float = TIME_BUDGET,
) -> SearchResult:
    """Every line of the workspace's text files at ``root`` holding ``query`` literally, files in path order."""
    check_query(query)
    if not root.is_dir():
        raise PyrunError("workspaces:platform:files-missing", workspace=root.name)
    pattern = re.compile(re.escape(query), 0 if case_sensitive else re.IGNORECASE)
    needle = query.encode() if case_sensitive else None  # a cheap whole-file test before splitting lines
    result = SearchResult(query=query, case_sensitive=case_sensitive)
    deadline = time.monotonic() + time_budget
    budget = byte_budget

    def skip(entry: safe_walk.Entry) -> bool:
        return entry.kind is safe_walk.Kind.DIR and entry.name in SKIPPED_FOLDERS

    walk = safe_walk.walk(root, skip=skip, ignore_errors=True)
    try:
        for entry in walk:
            if time.monotonic() > deadline:
                result.partial = True
                break
            if entry.kind is not safe_walk.Kind.FILE:
                continue  # symlinks are never followed; FIFOs, sockets and devices never opened
            if entry.stat.st_size > MAX_FILE_BYTES:
                result.files_skipped += 1
                continue
            try:
                fileobj, st = entry.open()
            except OSError:  # deleted, swapped for a FIFO or a symlink since the listing
                result.files_skipped += 1
                continue
            with fileobj:
                if st.st_size > budget:
                    result.partial = True  # the byte budget is spent: the rest stays unsearched
                    break
                data = fileobj.read(MAX_FILE_BYTES + 1)
            budget -= len(data)
            if len(data) > MAX_FILE_BYTES or b"\x00" in data[:SNIFF]:
                result.files_skipped += 1  # grew past the cap since it was listed, or binary
                continue
            result.files_searched += 1
            if needle is not None and needle not in data:
                continue
            text = data.decode("utf-8", errors="replace")
            if not case_sensitive and not pattern.search(text):
                continue
            for number, line in enumerate(_LINE_BREAK.split(text), start=1):
                for found in pattern.finditer(line):
                    if len(result.results) >= limit:
                        result.truncated = True
                        return result
                    shown, start, end = _window(line, found.start(), found.end())
                    result.results.append(Match(entry.path, number, found.start() + 1, shown, start, end))
    finally:
        walk.close()
    return result
