"""The Gantt data of a job: exact when zoomed in, bounded whatever the task count, running tasks drawn to now,
lanes folded into rows."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.monitoring.api_data import T0, insert_many, make_job, store, task
from tests.tenants import TenantTest


class TestTimeline(TenantTest):
    def get(self, job, **params) -> dict:
        response = self.api("viewer").get(f"/api/v1/jobs/{job.pk}/timeline/", params)
        assert response.status_code == 200, response.content
        return response.json()

    def test_zoomed_in_every_bar_is_one_task_of_the_window(self):
        job = make_job(self.t, finished_at=datetime.fromtimestamp(T0 + 100, UTC))
        # 3 lanes, back to back tasks of 1 s each: lane i runs tasks over [0, 30).
        store(job, *(task(f"k{lane}-{i}", i, i + 1, f"pid {lane}") for lane in range(3) for i in range(30)))
        body = self.get(job, start=T0 + 10.5, end=T0 + 14)
        # Tasks overlapping [10.5, 14]: starts 10, 11, 12, 13 and the one starting at 14 (touching the end).
        expected = {(f"k{lane}-{i}", T0 + i, T0 + i + 1) for lane in range(3) for i in range(10, 15)}
        assert body["exact"] is True
        assert body["tasks"] == len(expected) == len(body["bars"])
        assert {(bar["key"], bar["start"], bar["end"]) for bar in body["bars"]} == expected
        assert all(bar["count"] == 1 and bar["status"] == "finished" for bar in body["bars"])
        assert body["window"] == {"start": T0 + 10.5, "end": T0 + 14, "width": 1000, "seconds_per_pixel": 3.5 / 1000}
        assert [row["lanes"] for row in body["rows"]] == [["pid 0"], ["pid 1"], ["pid 2"]]

    def test_default_window_is_the_whole_job(self):
        job = make_job(self.t)
        store(job, task("a", 2, 5), task("b", 0, 1, "pid 2"))
        window = self.get(job)["window"]
        assert (window["start"], window["end"]) == (T0, T0 + 5)

    def test_100k_tasks_give_a_bounded_payload_whose_counts_add_up(self):
        job = make_job(self.t, finished_at=datetime.fromtimestamp(T0 + 3000, UTC))
        lanes = 50
        # 100k tasks of 0.9 s, 2000 per lane, one a second with a 3 s pause after every 50: far more tasks than
        # pixels (about 2 s each), and gaps wider than a pixel.
        rows = []
        for n in range(100_000):
            k = n // lanes
            start = T0 + k + (k // 50) * 3
            status = "failed" if n % 1000 == 0 else "finished"
            rows.append((n + 1, "lithops", f"ex/M00{n % 2}", f"t{n}", "task", status, f"slot {n % lanes + 1}", start,
                         start + 0.9))  # fmt: skip
        insert_many(job, rows)
        body = self.get(job, rows=20)
        assert body["exact"] is False
        assert len(body["rows"]) == 20
        assert 20 < len(body["bars"]) <= 1000 * 20
        assert body["tasks"] == 100_000
        assert sum(bar["count"] for bar in body["bars"]) == 100_000
        assert sum(bar["statuses"].get("failed", 0) for bar in body["bars"]) == 100
        assert {g["group"]: g["tasks"] for g in body["groups"]} == {"ex/M000": 50_000, "ex/M001": 50_000}
        # Zoomed in on 3 s: per lane the tasks starting at 1061, 1062, 1063 and the one ending inside the window.
        zoomed = self.get(job, start=T0 + 1060.5, end=T0 + 1063.5, rows=20)
        assert zoomed["exact"] is True
        assert zoomed["tasks"] == len(zoomed["bars"]) == 200

    def test_tasks_sharing_pixels_merge_with_a_status_summary(self):
        job = make_job(self.t)
        tiny = [task(f"t{i}", i * 0.001, i * 0.001 + 0.0005, status="failed" if i == 3 else "finished")
                for i in range(6000)]  # fmt: skip
        store(job, *tiny, task("long", 10, 20))
        body = self.get(job, width=100)
        assert body["exact"] is False
        # 0.2 s per pixel: the tiny tasks, 0.5 ms apart, are one bar over [0, 6 s]; the long one keeps its own.
        assert len(body["bars"]) == 2
        merged = body["bars"][0]
        assert (merged["count"], merged["start"], merged["end"]) == pytest.approx((6000, T0, T0 + 5.9995))
        assert merged["key"] is None and merged["lane"] == "pid 1"
        assert merged["status"] == "failed" and merged["statuses"]["failed"] == 1
        assert body["bars"][-1]["key"] == "long" and body["bars"][-1]["count"] == 1
        assert sum(bar["count"] for bar in body["bars"]) == 6001

    def test_running_tasks_are_drawn_to_now(self):
        job = make_job(self.t)
        store(job, task("done", 0, 1), task("open", 0.5, None, "pid 2"))
        before = time.time()
        body = self.get(job)
        after = time.time()
        bars = {bar["key"]: bar for bar in body["bars"]}
        assert len(body["bars"]) == 2  # the finished task's running row is not a bar of its own
        assert bars["open"]["status"] == "running"
        assert before <= bars["open"]["end"] == body["now"] <= after
        assert before <= body["window"]["end"] <= after

    def test_running_tasks_of_an_ended_job_stop_at_its_end(self):
        job = make_job(self.t, finished_at=datetime.fromtimestamp(T0 + 8, UTC))
        store(job, task("open", 0.5, None))
        bar = self.get(job)["bars"][0]
        assert (bar["start"], bar["end"], bar["status"]) == (T0 + 0.5, T0 + 8, "running")

    def test_more_lanes_than_rows_fold_neighbouring_lanes(self):
        job = make_job(self.t)
        store(job, *(task(f"k{i}", i, i + 1, f"slot {i + 1}") for i in range(10)))
        body = self.get(job, rows=3)
        assert [row["lanes"] for row in body["rows"]] == [
            ["slot 1", "slot 2", "slot 3", "slot 4"],
            ["slot 5", "slot 6", "slot 7"],
            ["slot 8", "slot 9", "slot 10"],
        ]
        assert body["rows"][1]["label"] == "slot 5 … slot 7 (3 lanes)"
        row_of = {lane: row["index"] for row in body["rows"] for lane in row["lanes"]}
        assert len(body["bars"]) == 10
        assert all(bar["row"] == row_of[bar["lane"]] for bar in body["bars"])

    def test_window_and_sizes_are_checked(self):
        job = make_job(self.t)
        for params in ({"start": T0 + 5, "end": T0 + 1}, {"width": 4001}, {"rows": 0}):
            response = self.api("viewer").get(f"/api/v1/jobs/{job.pk}/timeline/", params)
            assert response.status_code == 400, params
            assert response.json()["error"]["id"] == "api:user:invalid"
