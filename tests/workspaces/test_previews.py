"""Table previews of CSV, TSV and Parquet files, written through the files API as a job's results would be:
the first rows, the columns with their types, the row count, and clear 400s for what cannot be previewed."""

from __future__ import annotations

import io
import os
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.workspaces.base import WorkspaceTest, error_id
from workspaces import previews

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def parquet_bytes(table: pa.Table, **options) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


class PreviewTest(WorkspaceTest):
    def preview(self, path: str, who: str = "member", **params):
        return self.api(who).get(self.url("preview/" + quote(path)), params)


class TestCsv(PreviewTest):
    def test_a_csv_shows_its_header_its_first_rows_and_how_many_rows_it_has(self):
        lines = ["city,population,area"] + [f"town {i},{i * 1000},{i}.5" for i in range(2500)]
        assert self.put("results/towns.csv", "\n".join(lines) + "\n").status_code == 201
        response = self.preview("results/towns.csv")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["format"] == "csv"
        assert body["columns"] == [
            {"name": "city", "type": "string"},
            {"name": "population", "type": "integer"},
            {"name": "area", "type": "number"},
        ]
        assert len(body["rows"]) == previews.DEFAULT_ROWS
        assert body["rows"][0] == ["town 0", "0", "0.5"]
        assert (body["total_rows"], body["truncated"]) == (2500, True)

    def test_rows_asks_for_more_up_to_the_cap(self):
        self.put("t.csv", "a\n" + "".join(f"{i}\n" for i in range(1500)))
        body = self.preview("t.csv", rows=1000).json()
        assert (len(body["rows"]), body["rows"][-1], body["total_rows"]) == (1000, ["999"], 1500)
        for bad in ("0", "1001", "ten", "-1"):
            response = self.preview("t.csv", rows=bad)
            assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-preview-rows")

    def test_a_small_file_is_whole_and_quoted_newlines_stay_in_their_cell(self):
        self.put("notes.csv", 'id,text\n1,"two\nlines"\n2,"a, b"\n')
        body = self.preview("notes.csv").json()
        assert body["rows"] == [["1", "two\nlines"], ["2", "a, b"]]
        assert (body["total_rows"], body["truncated"]) == (2, False)

    def test_a_tsv_splits_on_tabs_and_long_cells_are_cut(self):
        self.put("data/x.tsv", "name\tvalue\nlong\t" + "z" * 5000 + "\n")
        body = self.preview("data/x.tsv").json()
        assert body["format"] == "tsv"
        assert [c["name"] for c in body["columns"]] == ["name", "value"]
        cell = body["rows"][0][1]
        assert len(cell) == previews.MAX_CELL_CHARS + 1 and cell.endswith("…")

    def test_an_empty_csv_has_no_columns(self):
        self.put("empty.csv", b"")
        body = self.preview("empty.csv").json()
        assert (body["columns"], body["rows"], body["total_rows"]) == ([], [], 0)

    def test_past_the_counting_budget_the_total_is_unknown(self, monkeypatch):
        # A 5 GB CSV is not read to its end to count it: past COUNT_BYTES the total is null, the rows still there.
        monkeypatch.setattr(previews, "COUNT_BYTES", 64 * 1024)
        self.put("huge.csv", "n\n" + "".join(f"{i:09d}\n" for i in range(50_000)))
        body = self.preview("huge.csv", rows=5).json()
        assert body["rows"] == [["000000000"], ["000000001"], ["000000002"], ["000000003"], ["000000004"]]
        assert (body["total_rows"], body["truncated"]) == (None, True)

    def test_a_file_of_one_endless_line_is_refused_without_reading_it_whole(self):
        self.put("blob.csv", b"x" * (previews.MAX_LINE_CHARS + 10))
        response = self.preview("blob.csv")
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-preview")
        assert "longer than" in response.json()["error"]["message"]


class TestParquet(PreviewTest):
    def test_a_parquet_file_shows_its_columns_with_their_types(self):
        table = pa.table(
            {
                "id": pa.array(range(5000), pa.int64()),
                "score": pa.array([i / 4 for i in range(5000)], pa.float64()),
                "label": pa.array([f"row {i}" for i in range(5000)], pa.string()),
            }
        )
        self.put("results/scores.parquet", parquet_bytes(table, row_group_size=1000))
        response = self.preview("results/scores.parquet", rows=10)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["columns"] == [
            {"name": "id", "type": "int64"},
            {"name": "score", "type": "double"},
            {"name": "label", "type": "string"},
        ]
        assert body["rows"][:2] == [[0, 0.0, "row 0"], [1, 0.25, "row 1"]]
        assert len(body["rows"]) == 10
        assert (body["total_rows"], body["truncated"]) == (5000, True)

    def test_values_json_cannot_hold_are_sent_as_text(self):
        table = pa.table({"big": pa.array([2**60, None], pa.int64()), "x": pa.array([float("nan"), 1.0])})
        self.put("odd.parquet", parquet_bytes(table))
        body = self.preview("odd.parquet").json()
        assert body["rows"] == [[str(2**60), "nan"], [None, 1.0]]
        assert (body["total_rows"], body["truncated"]) == (2, False)

    def test_a_broken_parquet_file_is_a_clear_400(self):
        good = parquet_bytes(pa.table({"a": [1, 2, 3]}))
        for name, data in (("cut.parquet", good[: len(good) // 2]), ("text.parquet", b"not parquet at all")):
            self.put(name, data)
            response = self.preview(name)
            assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-preview"), name
            assert "cannot be read as Parquet" in response.json()["error"]["message"]


class TestWhatIsRefused(PreviewTest):
    def test_other_files_have_no_table_preview(self):
        self.put("results/montecarlo.png", PNG)
        response = self.preview("results/montecarlo.png")
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:no-preview")
        assert ".parquet" in response.json()["error"]["message"]

    def test_a_missing_file_is_404_and_a_folder_is_400(self):
        response = self.preview("nope.csv")
        assert (response.status_code, error_id(response)) == (404, "workspaces:user:no-such-path")
        self.api("member").post(self.file_url("dir.csv") + "?op=mkdir")
        assert self.preview("dir.csv").status_code == 400

    def test_dot_dot_is_400(self):
        self.put("a.csv", "x\n1\n")
        response = self.preview("sub/../../a.csv")
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-path")

    def test_a_symlink_is_never_followed(self, tmp_path):
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.csv").write_text("password\nhunter2\n")
        (self.workspace.path / "leak.csv").symlink_to(outside / "secret.csv")
        (self.workspace.path / "leakdir").symlink_to(outside)
        for path in ("leak.csv", "leakdir/secret.csv"):
            response = self.preview(path)
            assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-path"), path
            assert "hunter2" not in response.content.decode()

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
    def test_a_fifo_is_never_opened_for_reading(self):
        os.mkfifo(self.workspace.path / "pipe.csv")
        response = self.preview("pipe.csv")
        assert (response.status_code, error_id(response)) == (400, "workspaces:user:bad-path")

    def test_another_orgs_workspace_is_404(self):
        self.put("results/t.csv", "a\n1\n")
        response = self.preview("results/t.csv", who="outsider")
        assert response.status_code == 404

    def test_a_viewer_may_preview(self):
        self.put("t.csv", "a\n1\n")
        assert self.preview("t.csv", who="viewer").json()["rows"] == [["1"]]

    def test_a_parquet_file_past_the_size_cap_is_refused_before_it_is_read(self, monkeypatch):
        monkeypatch.setattr(previews, "PARQUET_MAX_BYTES", 100)
        self.put("big.parquet", parquet_bytes(pa.table({"a": list(range(1000))})))
        response = self.preview("big.parquet")
        assert (response.status_code, error_id(response)) == (413, "workspaces:user:preview-too-large")

    def test_the_preview_is_in_the_api_schema(self):
        schema = self.api("member").get("/api/v1/schema/?format=json").json()
        operation = schema["paths"]["/api/v1/workspaces/{id}/preview/{path}"]["get"]
        assert operation["operationId"] == "workspaces_files_preview"
