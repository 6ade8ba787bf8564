"""Downloads of a job's task events: a Chrome trace that trace viewers load, and a CSV."""

from __future__ import annotations

import csv
import io
import json
import warnings

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tests.monitoring.api_data import T0, make_job, store, task
from tests.tenants import TenantTest


def body(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


class TestExport(TenantTest):
    @pytest.fixture(autouse=True)
    def _job(self, _tenants):
        self.job = make_job(self.t)
        store(
            self.job,
            task("ex/M000/00000", 0, 1.5, "pid 7"),
            task("ex/M000/00001", 0.25, 0.75, "pid 8", "failed", error="KeyError: 'x'"),
            task("ex/M000/00002", 2, None, "pid 7"),
            task("inc-1", 1, 1.125, "tcp://127.0.0.1:4000 #2", group="inc", phase="compute", framework="dask"),
        )  # 7 rows: 4 running, 3 ending

    def get(self, route: str, **headers):
        return self.api("viewer").get(f"/api/v1/jobs/{self.job.pk}/export/{route}/", **headers)

    def test_trace_has_one_complete_event_per_ended_task_in_microseconds(self):
        response = self.get("trace")
        assert response["Content-Disposition"] == f'attachment; filename="job-{self.job.pk}-tasks.json"'
        trace = json.loads(body(response))
        complete = {event["args"]["key"]: event for event in trace["traceEvents"] if event["ph"] == "X"}
        assert set(complete) == {"ex/M000/00000", "ex/M000/00001", "inc-1"}
        first, failed, dask = complete["ex/M000/00000"], complete["ex/M000/00001"], complete["inc-1"]
        assert (first["ts"], first["dur"]) == (0, 1_500_000)
        assert (failed["ts"], failed["dur"]) == (250_000, 500_000)
        assert (dask["ts"], dask["dur"]) == (1_000_000, 125_000)
        assert failed["args"]["status"] == "failed" and failed["args"]["error"] == "KeyError: 'x'"
        assert first["name"] == "ex/M000" and dask["name"] == "inc"
        assert trace["otherData"]["t0"] == T0
        # The running task is an unterminated slice: its running row is not another event.
        begun = [event for event in trace["traceEvents"] if event["ph"] == "B"]
        assert [(event["args"]["key"], event["ts"]) for event in begun] == [("ex/M000/00002", 2_000_000)]

    def test_trace_names_the_lanes(self):
        events = json.loads(body(self.get("trace")))["traceEvents"]
        threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e["name"] == "thread_name"}
        processes = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
        lane_of = {e["args"]["key"]: threads[(e["pid"], e["tid"])] for e in events if e["ph"] in ("X", "B")}
        assert lane_of == {"ex/M000/00000": "pid 7", "ex/M000/00001": "pid 8", "ex/M000/00002": "pid 7",
                           "inc-1": "tcp://127.0.0.1:4000 #2"}  # fmt: skip
        # A Dask thread belongs to its worker's process; Lithops lanes to the job's.
        pid_of = {name: pid for (pid, _), name in threads.items()}
        assert processes[pid_of["tcp://127.0.0.1:4000 #2"]] == "tcp://127.0.0.1:4000"
        assert processes[pid_of["pid 7"]] == processes[pid_of["pid 8"]] == f"job {self.job.pk}"

    def test_csv_has_a_header_and_one_row_per_event(self):
        response = self.get("csv")
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == f'attachment; filename="job-{self.job.pk}-tasks.csv"'
        rows = list(csv.reader(io.StringIO(body(response))))
        assert rows[0] == ["seq", "framework", "group", "key", "phase", "status", "lane", "start", "end", "duration",
                           "error"]  # fmt: skip
        assert [int(row[0]) for row in rows[1:]] == list(range(1, 8))
        failed = next(row for row in rows if row[5] == "failed")
        assert failed[1:7] == ["lithops", "ex/M000", "ex/M000/00001", "task", "failed", "pid 8"]
        assert (float(failed[7]), float(failed[8]), float(failed[9]), failed[10]) == (
            T0 + 0.25, T0 + 0.75, 0.5, "KeyError: 'x'"
        )  # fmt: skip
        assert rows[1][5] == "running" and rows[1][8] == rows[1][9] == ""

    def test_csv_cells_never_start_a_spreadsheet_formula(self):
        store(self.job, task("=HYPERLINK(1)", 5, 6), interleave=False)  # keys come from user code
        rows = list(csv.reader(io.StringIO(body(self.get("csv")))))
        assert rows[-1][3] == "'=HYPERLINK(1)"

    def test_a_client_asking_for_csv_gets_it(self):
        assert body(self.get("csv", HTTP_ACCEPT="text/csv")).startswith("seq,framework")

    def test_large_exports_stream_in_pieces(self):
        store(self.job, *(task(f"k{i}", 10 + i, 11 + i) for i in range(3000)), interleave=False)
        pieces = list(self.get("csv").streaming_content)
        assert len(pieces) > 2
        assert sum(piece.count(b"\n") for piece in pieces) == 1 + 7 + 6000
        trace = json.loads(b"".join(self.get("trace").streaming_content))
        assert sum(event["ph"] == "X" for event in trace["traceEvents"]) == 3 + 3000

    def test_under_asgi_the_download_is_produced_chunk_by_chunk(self):
        store(self.job, *(task(f"k{i}", 10 + i, 11 + i) for i in range(3000)), interleave=False)
        client, token = AsyncClient(), {"Authorization": f"Token {self.t.keys['viewer']}"}

        async def download() -> list[bytes]:
            response = await client.get(f"/api/v1/jobs/{self.job.pk}/export/csv/", headers=token)
            assert response.status_code == 200
            assert response.is_async  # a sync iterator would be read whole before its first byte is sent
            return [piece async for piece in response.streaming_content]

        with warnings.catch_warnings():
            # Django warns when it must read a sync iterator whole before sending it from ASGI.
            warnings.simplefilter("error")
            pieces = async_to_sync(download)()
        assert len(pieces) > 2
        assert sum(piece.count(b"\n") for piece in pieces) == 1 + 7 + 6000
