"""The tasks list of a job (filters, ordering, pagination) and who may read the monitoring routes."""

from __future__ import annotations

import pytest

from tests.monitoring.api_data import T0, make_job, store, task
from tests.tenants import TenantTest

ROUTES = ["tasks", "timeline", "metrics", "export/trace", "export/csv"]


class TestAccess(TenantTest):
    @pytest.mark.parametrize("route", ROUTES)
    def test_another_orgs_job_is_not_found(self, route):
        job = make_job(self.t)
        store(job, task("a", 0, 1))
        response = self.api("outsider").get(f"/api/v1/jobs/{job.pk}/{route}/")
        assert response.status_code == 404
        assert response.json()["error"]["id"] == "api:user:not-found"

    @pytest.mark.parametrize("route", ROUTES)
    def test_a_viewer_reads_them(self, route):
        job = make_job(self.t)
        store(job, task("a", 0, 1))
        assert self.api("viewer").get(f"/api/v1/jobs/{job.pk}/{route}/").status_code == 200

    @pytest.mark.parametrize("route", ROUTES)
    def test_a_job_without_events_has_empty_monitoring(self, route):
        job = make_job(self.t)
        assert self.api("viewer").get(f"/api/v1/jobs/{job.pk}/{route}/").status_code == 200


class TestTaskList(TenantTest):
    @pytest.fixture(autouse=True)
    def _job(self, _tenants):
        self.job = make_job(self.t)
        store(
            self.job,
            task("ex/M000/00000", 0, 1, "pid 1"),
            task("ex/M000/00001", 0, 3, "pid 2"),
            task("ex/M000/00002", 1, 1.5, "pid 1", "failed", error="ZeroDivisionError: division by zero"),
            task("ex/M000/00003", 2, None, "pid 1"),
            task("inc-1", 4, 6, "tcp://127.0.0.1:4000 #1", group="inc", phase="compute", framework="dask"),
            task("inc-1", 3.5, 4, "tcp://127.0.0.1:4000 #1", group="inc", phase="transfer", framework="dask"),
        )  # 11 rows: 6 running, 5 ending

    def get(self, **params) -> dict:
        response = self.api("viewer").get(f"/api/v1/jobs/{self.job.pk}/tasks/", params)
        assert response.status_code == 200, response.content
        return response.json()

    def test_lists_every_event_in_seq_order_with_its_fields(self):
        body = self.get(events="true")
        assert body["count"] == 11
        assert [row["seq"] for row in body["results"]] == list(range(1, 12))
        failed = next(row for row in body["results"] if row["status"] == "failed")
        assert failed == {
            "seq": failed["seq"], "framework": "lithops", "group": "ex/M000", "key": "ex/M000/00002",
            "phase": "task", "status": "failed", "lane": "pid 1", "start": T0 + 1, "end": T0 + 1.5,
            "duration": 0.5, "error": "ZeroDivisionError: division by zero", "figures": {}, "output": "",
        }  # fmt: skip
        assert body["results"][0]["end"] is None and body["results"][0]["duration"] is None  # a running row

    @pytest.mark.parametrize(
        ("params", "keys"),
        [
            ({"status": "failed"}, ["ex/M000/00002"]),
            ({"status": "finished", "phase": "task"}, ["ex/M000/00000", "ex/M000/00001"]),
            ({"group": "inc", "status": "finished"}, ["inc-1", "inc-1"]),
            ({"lane": "pid 2"}, ["ex/M000/00001", "ex/M000/00001"]),
            ({"key": "ex/M000/00003"}, ["ex/M000/00003"]),
            ({"framework": "dask", "phase": "transfer"}, ["inc-1", "inc-1"]),
            ({"after": 9}, ["inc-1", "inc-1"]),
        ],
    )
    def test_filters(self, params, keys):
        assert [row["key"] for row in self.get(events="true", **params)["results"]] == keys

    def test_lists_one_row_per_task_by_default(self):
        body = self.get()
        assert body["count"] == 6  # 4 Lithops calls, a Dask compute and its transfer
        rows = self.get(phase="task")["results"]
        assert sorted((row["key"], row["status"]) for row in rows) == [
            ("ex/M000/00000", "finished"),
            ("ex/M000/00001", "finished"),
            ("ex/M000/00002", "failed"),
            ("ex/M000/00003", "running"),
        ]

    def test_orders_by_duration_and_start(self):
        by_duration = self.get(events="true", ordering="-duration")["results"]
        assert [(row["key"], row["duration"]) for row in by_duration[:3]] == [
            ("ex/M000/00001", 3.0), ("inc-1", 2.0), ("ex/M000/00000", 1.0)
        ]  # fmt: skip
        assert all(row["duration"] is None for row in by_duration[-6:])  # running rows last
        starts = [row["start"] for row in self.get(events="true", ordering="start")["results"]]
        assert starts == sorted(starts)

    def test_pages(self):
        first = self.get(events="true", page_size=4)
        assert first["count"] == 11 and len(first["results"]) == 4 and first["next"]
        last = self.get(events="true", page_size=4, page=3)
        assert [row["seq"] for row in last["results"]] == [9, 10, 11] and last["next"] is None

    def test_bad_filter_value_is_a_400(self):
        response = self.api("viewer").get(f"/api/v1/jobs/{self.job.pk}/tasks/", {"status": "done"})
        assert response.status_code == 400
        assert response.json()["error"]["id"] == "api:user:invalid"
        assert "status" in response.json()["error"]["fields"]
