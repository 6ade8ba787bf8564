"""The path resolver: the rules on the string, and a property that nothing ever resolves outside the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyrun_web.errors import PyrunError
from workspaces import paths


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("a.py", "a.py"),
        ("src//pkg/./mod.py", "src/pkg/mod.py"),
        ("folder/", "folder"),
        ("Straße/ÄÖÜ.PY", "Straße/ÄÖÜ.PY"),
        ("cafe\u0301.py", "café.py"),  # NFD from macOS becomes NFC
        ("%2e%2e/x", "%2e%2e/x"),  # already URL-decoded once: a literal name, never decoded twice
        ("...", "..."),
        ("..a/b..", "..a/b.."),
    ],
)
def test_normalize_keeps_safe_paths(raw, expected):
    assert paths.normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("..", "'..'"),
        ("a/../b", "'..'"),
        ("/etc/passwd", "absolute"),
        ("..\\x", "backslash"),
        ("a\x00b", "NUL"),
        ("a\nb", "control"),
        ("bad\udc80name", "invalid Unicode"),
        ("x" * 256, "255 bytes"),
    ],
)
def test_normalize_refuses_unsafe_paths(raw, reason):
    with pytest.raises(PyrunError) as refused:
        paths.normalize(raw)
    assert refused.value.id == "workspaces:user:bad-path"
    assert reason in refused.value.message


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A workspace root with symlinks that stay inside and symlinks that leave."""
    base = tmp_path_factory.mktemp("resolver")
    (base / "outside").mkdir()
    workspace = base / "ws"
    (workspace / "sub" / "deep").mkdir(parents=True)
    (workspace / "sub" / "file.txt").write_text("x")
    (workspace / "inside-link").symlink_to(workspace / "sub")
    (workspace / "relative-inside").symlink_to("sub/deep")
    (workspace / "out-abs").symlink_to(base / "outside")
    (workspace / "out-rel").symlink_to("../outside")
    (workspace / "sub" / "up").symlink_to("../..")
    (workspace / "loop").symlink_to("loop")
    return workspace


def test_resolve_refuses_symlinks_that_leave(root):
    for raw in ("out-abs", "out-abs/x", "out-rel/secret", "sub/up/outside", "inside-link/up"):
        with pytest.raises(PyrunError, match="outside the workspace"):
            paths.resolve(root, raw)


def test_resolve_follows_symlinks_that_stay_inside(root):
    assert paths.resolve(root, "inside-link/file.txt") == root.resolve() / "sub" / "file.txt"
    assert paths.resolve(root, "relative-inside") == root.resolve() / "sub" / "deep"


def test_resolve_without_following_keeps_the_link_itself(root):
    assert paths.resolve(root, "out-abs", follow_symlinks=False) == root.resolve() / "out-abs"


SEGMENTS = st.sampled_from(
    ["..", ".", "", "a", "sub", "inside-link", "out-abs", "out-rel", "up", "loop", "%2e%2e", "%2E", "%2f", "\\",
     "..\\..", "\x00", "/", "//", "~", "$HOME", "ñ", "日本", "😀", "\u202e", "\ufeff", "cafe\u0301", "\u2024\u2024"]
)  # fmt: skip


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.text(max_size=60), st.lists(SEGMENTS | st.text(max_size=6), max_size=8).map("/".join)))
def test_nothing_ever_resolves_outside_the_root(root, raw):
    real_root = Path(os.path.realpath(root))
    for follow in (True, False):
        try:
            resolved = paths.resolve(root, raw, follow_symlinks=follow)
        except PyrunError as refused:
            assert refused.id == "workspaces:user:bad-path"
            continue
        assert paths.is_within(real_root, resolved)
        if follow:
            assert paths.is_within(real_root, Path(os.path.realpath(resolved)))
        assert ".." not in Path(os.path.relpath(resolved, real_root)).parts
