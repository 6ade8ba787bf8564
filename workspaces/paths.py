"""The one place that turns a caller's path into a location inside a workspace.

``normalize`` applies the string rules (no ``..``, no absolute paths, no backslashes, NUL or control
characters, valid Unicode in NFC); ``resolve`` then follows symlinks on disk and refuses anything that ends up
outside the workspace root. Code that opens files also checks the opened descriptor with ``fd_is_within``, so a
symlink swapped in between the check and the open (e.g. from the terminal) cannot redirect it.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from pyrun_web.errors import PyrunError

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
# Control and line/paragraph separator characters make names that break headers, logs and terminals; format
# (Cf) characters — bidi embeddings/overrides/isolates U+202A-U+202E and U+2066-U+2069, zero-width characters
# and marks U+200B-U+200F, the BOM U+FEFF, … — make a name display unlike what it is ("invoice\u202egpj.py").
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def forbidden_character(text: str) -> str | None:
    """The first control or invisible character in ``text``, named as ``U+202E (RIGHT-TO-LEFT OVERRIDE)``."""
    for char in text:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            name = unicodedata.name(char, "")
            return f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return None


def bad_path(raw: object, reason: str) -> PyrunError:
    shown = str(raw)
    return PyrunError("workspaces:user:bad-path", path=shown if len(shown) <= 200 else shown[:200] + "…", reason=reason)


def normalize(raw: str) -> str:
    """The canonical relative form of ``raw``: ``"a/b"`` (``""`` is the workspace root).

    Empty and ``.`` segments are dropped and names are NFC-normalised (macOS sends NFD); case is preserved.
    """
    if not isinstance(raw, str):
        raise bad_path(raw, "a path must be text")
    if "\x00" in raw:
        raise bad_path(raw, "NUL characters are not allowed")
    if "\\" in raw:
        raise bad_path(raw, "backslashes are not allowed, use /")
    found = forbidden_character(raw)
    if found:
        reason = f"it contains {found}; control, invisible and bidi characters and invalid Unicode are not allowed"
        raise bad_path(raw, reason)
    text = unicodedata.normalize("NFC", raw)
    if text.startswith("/"):
        raise bad_path(raw, "absolute paths are not allowed")
    parts = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise bad_path(raw, "'..' is not allowed")
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise bad_path(raw, f"a name is longer than {MAX_NAME_BYTES} bytes")
        parts.append(part)
    rel = "/".join(parts)
    if len(rel.encode("utf-8")) > MAX_PATH_BYTES:
        raise bad_path(raw, f"it is longer than {MAX_PATH_BYTES} bytes")
    return rel


def is_within(root: Path, path: Path) -> bool:
    return path == root or str(path).startswith(str(root).rstrip(os.sep) + os.sep)


def resolve(root: Path, raw: str, *, follow_symlinks: bool = True) -> Path:
    """The absolute, symlink-free location of ``raw`` under ``root``; it need not exist yet.

    With ``follow_symlinks=False`` the last segment is kept as is (to delete or move a link itself), but every
    folder above it is still resolved and checked.
    """
    rel = normalize(raw)
    real_root = Path(os.path.realpath(root))
    if not rel:
        return real_root
    candidate = real_root / rel
    if follow_symlinks:
        real = Path(os.path.realpath(candidate))
    else:
        real = Path(os.path.realpath(candidate.parent)) / candidate.name
    if not is_within(real_root, real):
        raise bad_path(raw, "it leads outside the workspace")
    return real


def fd_is_within(fd: int, root: Path) -> bool:
    """Whether an open descriptor really points under ``root`` (the kernel's view, after any symlink race)."""
    return is_within(Path(os.path.realpath(root)), Path(os.readlink(f"/proc/self/fd/{fd}")))
