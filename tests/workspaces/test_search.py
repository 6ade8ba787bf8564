"""Searching a workspace (`GET /api/v1/workspaces/{id}/search/?q=`): literal matches with their place, case
options, a result limit, and hostile trees (symlinks out, FIFOs, huge and binary files) that neither leak nor
hang the search."""

from __future__ import annotations

import os
import threading

import pytest

from tests.workspaces.base import WorkspaceTest, error_id
from workspaces import search


class SearchTest(WorkspaceTest):
    def search(self, who: str = "member", **params):
        return self.api(who).get(self.url("search/"), params)

    def found(self, **params) -> list[tuple[str, int, int]]:
        response = self.search(**params)
        assert response.status_code == 200, response.content
        return [(m["path"], m["line"], m["column"]) for m in response.json()["results"]]


class TestMatches(SearchTest):
    def test_every_match_is_listed_with_its_file_line_column_and_text(self):
        self.put("main.py", "import os\n\ndef load():\n    return os.environ['LOAD']  # load it\n")
        self.put("src/util.py", "x = 1\r\ny = load()\n")
        response = self.search(q="load")
        assert response.status_code == 200, response.content
        body = response.json()
        assert [(m["path"], m["line"], m["column"]) for m in body["results"]] == [
            ("main.py", 3, 5),
            ("main.py", 4, 24),
            ("main.py", 4, 34),
            ("src/util.py", 2, 5),
        ]
        first = body["results"][0]
        assert first["text"] == "def load():"
        assert first["text"][first["match_start"] : first["match_end"]] == "load"
        assert (body["truncated"], body["partial"], body["files_searched"]) == (False, False, 2)

    def test_case_is_ignored_unless_asked_and_the_query_is_literal(self):
        self.put("a.py", "Total = 1\ntotal(x)\n# tot.l\n")
        assert self.found(q="TOTAL") == [("a.py", 1, 1), ("a.py", 2, 1)]
        assert self.found(q="Total", case_sensitive="true") == [("a.py", 1, 1)]
        assert self.found(q="tot.l") == [("a.py", 3, 3)]  # a dot is a dot, not a regex
        assert self.found(q="(x)") == [("a.py", 2, 6)]

    def test_a_long_line_is_sent_as_a_window_around_the_match(self):
        self.put("min.js", "a" * 50_000 + "needle" + "b" * 50_000)
        match = self.search(q="needle").json()["results"][0]
        assert (match["line"], match["column"]) == (1, 50_001)
        assert len(match["text"]) <= search.LINE_CAP
        assert match["text"][match["match_start"] : match["match_end"]] == "needle"

    def test_the_limit_cuts_the_results_and_says_so(self):
        self.put("many.txt", "hit\n" * 50)
        body = self.search(q="hit", limit=10).json()
        assert (len(body["results"]), body["truncated"]) == (10, True)
        body = self.search(q="hit").json()
        assert (len(body["results"]), body["truncated"]) == (50, False)

    def test_tool_folders_are_not_searched(self):
        self.put("app.py", "marker\n")
        self.put(".git/config", "marker\n")
        self.put("node_modules/x/index.js", "marker\n")
        self.put(".pyrun/environment.yml", "# marker\n")
        assert self.found(q="marker") == [(".pyrun/environment.yml", 1, 3), ("app.py", 1, 1)]


class TestBadRequests(SearchTest):
    def test_an_empty_or_too_long_query_and_a_bad_limit_are_400_with_their_ids(self):
        for params, expected in [
            ({"q": ""}, "workspaces:user:search-query-empty"),
            ({"q": "   "}, "workspaces:user:search-query-empty"),
            ({}, "workspaces:user:search-query-empty"),
            ({"q": "x" * (search.MAX_QUERY + 1)}, "workspaces:user:search-query-too-long"),
            ({"q": "a\nb"}, "workspaces:user:search-query-too-long"),
            ({"q": "x", "limit": "0"}, "workspaces:user:bad-search-limit"),
            ({"q": "x", "limit": str(search.MAX_LIMIT + 1)}, "workspaces:user:bad-search-limit"),
            ({"q": "x", "limit": "ten"}, "workspaces:user:bad-search-limit"),
        ]:
            response = self.search(**params)
            assert (response.status_code, error_id(response)) == (400, expected), params

    def test_another_orgs_workspace_is_404(self):
        self.put("secret.py", "password = 1\n")
        response = self.search("outsider", q="password")
        assert response.status_code == 404
        assert b"password" not in response.content

    def test_a_viewer_may_search(self):
        self.put("a.py", "hello\n")
        assert self.search("viewer", q="hello").status_code == 200


class TestHostileTrees(SearchTest):
    def test_a_symlink_to_a_file_or_folder_outside_is_not_followed(self, tmp_path):
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_text("the secret token\n")
        (self.workspace.path / "escape").symlink_to(outside)
        (self.workspace.path / "link.txt").symlink_to(outside / "secret.txt")
        self.put("mine.txt", "my token\n")
        assert self.found(q="token") == [("mine.txt", 1, 4)]

    def test_a_fifo_does_not_hang_the_search(self):
        os.mkfifo(self.workspace.path / "pipe.txt")
        self.put("a.txt", "found\n")
        result: list = []
        # In a thread (the API client's database transaction is this thread's): a FIFO opened for reading would
        # block forever, and the test must fail rather than hang.
        thread = threading.Thread(
            target=lambda: result.append(search.search(self.workspace.path, "found")), daemon=True
        )
        thread.start()
        thread.join(60)
        assert [(m.path, m.line) for m in result[0].results] == [("a.txt", 1)]

    def test_huge_and_binary_files_are_skipped(self):
        with open(self.workspace.path / "big.log", "wb") as big:
            big.write(b"needle\n")
            big.truncate(search.MAX_FILE_BYTES + 1)
        (self.workspace.path / "blob.bin").write_bytes(b"\x00\x01needle\x00")
        self.put("small.py", "needle = 1\n")
        body = self.search(q="needle").json()
        assert [m["path"] for m in body["results"]] == ["small.py"]
        assert body["files_skipped"] == 2

    def test_the_byte_budget_stops_the_search_with_a_partial_flag(self):
        for i in range(5):
            self.put(f"f{i}.txt", "x" * 1000 + "\nneedle\n")
        result = search.search(self.workspace.path, "needle", byte_budget=2500)
        assert [m.path for m in result.results] == ["f0.txt", "f1.txt"]
        assert result.partial is True

    def test_the_time_budget_stops_the_search_with_a_partial_flag(self):
        self.put("a.txt", "needle\n")
        result = search.search(self.workspace.path, "needle", time_budget=-1)
        assert (result.results, result.partial) == ([], True)

    @pytest.mark.parametrize("name", ["naïve ünïcode.py", "sp ace.py"])
    def test_names_and_text_in_any_script_are_found(self, name):
        self.put(name, "grüße = 'Grüße'\n")
        assert self.found(q="GRÜSSE") == []  # literal, not folded: ß is not ss
        assert self.found(q="GRÜßE") == [(name, 1, 1), (name, 1, 10)]
