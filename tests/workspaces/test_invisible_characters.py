"""Bidi overrides, zero-width and other invisible characters make a name display unlike what it is: refused (400)
in file paths and workspace names, with the code point named in the message."""

from __future__ import annotations

import pytest

from pyrun_web.errors import PyrunError
from tests.workspaces.base import WorkspaceTest, error_id
from workspaces import paths
from workspaces.models import Workspace

INVISIBLE = [
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # bidi embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # bidi isolates
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",  # zero-width characters and marks
    "\ufeff", "\u00ad", "\u2060", "\x7f", "\x1b",  # BOM, soft hyphen, word joiner, DEL, ESC (Cf/Cc)
]  # fmt: skip


@pytest.mark.parametrize("char", INVISIBLE)
def test_normalize_names_the_code_point(char):
    with pytest.raises(PyrunError) as refused:
        paths.normalize(f"src/invoice{char}yp.exe")
    assert refused.value.id == "workspaces:user:bad-path"
    assert f"U+{ord(char):04X}" in refused.value.message


def test_the_message_gives_the_characters_name():
    with pytest.raises(PyrunError) as refused:
        paths.normalize("report\u202egpj.py")
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE)" in refused.value.message


def test_visible_unicode_stays_allowed():
    assert paths.normalize("Données/日本/😀 ✓.txt") == "Données/日本/😀 ✓.txt"


class TestFilesApi(WorkspaceTest):
    @pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\ufeff"])
    def test_writing_a_file_with_an_invisible_character_is_a_400(self, char):
        response = self.put(f"evil{char}name.py", "x = 1\n")
        assert response.status_code == 400
        assert error_id(response) == "workspaces:user:bad-path"
        assert f"U+{ord(char):04X}" in response.json()["error"]["message"]
        assert self.tree_paths() == {}

    def test_moving_a_file_to_an_invisible_name_is_a_400(self):
        assert self.put("ok.py", "x = 1\n").status_code == 201
        response = self.api("member").post(self.url("move/"), {"from": "ok.py", "to": "ok\u202egpj.py"}, format="json")
        assert response.status_code == 400
        assert "U+202E" in response.json()["error"]["message"]
        assert self.tree_paths() == {"ok.py": "file"}


class TestWorkspaceNames(WorkspaceTest):
    def test_creating_a_workspace_with_a_bidi_override_is_a_400(self):
        response = self.api("member").post("/api/v1/workspaces/", {"name": "Payroll\u202e2202"})
        assert response.status_code == 400
        assert "U+202E (RIGHT-TO-LEFT OVERRIDE)" in str(response.json()["error"])
        assert "name" in response.json()["error"]["fields"]
        assert Workspace.objects.count() == 1

    def test_renaming_to_a_zero_width_space_is_a_400(self):
        response = self.api("member").patch(self.url(), {"name": "Ana\u200blysis"})
        assert response.status_code == 400
        assert "U+200B (ZERO WIDTH SPACE)" in str(response.json()["error"])
        self.workspace.refresh_from_db()
        assert self.workspace.name == "Analysis"
