"""The metrics of a job on a small data set whose figures are known by hand, and its resource series."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.monitoring.api_data import T0, make_job, store, store_samples, task
from tests.tenants import TenantTest


class TestTaskMetrics(TenantTest):
    @pytest.fixture(autouse=True)
    def _job(self, _tenants):
        # Lithops map ex/M000 over lanes pid 1..4 and a Dask task; every ended task also has its running row.
        self.job = make_job(self.t, finished_at=datetime.fromtimestamp(T0 + 30, UTC))
        cold = {"worker_cold_start": True}
        warm = {"worker_cold_start": False}
        store(
            self.job,
            *(task(f"ex/M000/a{i}", i, i + 1, "pid 1", figures=cold if i == 0 else warm) for i in range(5)),
            *(task(f"ex/M000/b{i}", i, i + 1, "pid 2", figures=cold if i == 0 else warm) for i in range(4)),
            task("ex/M000/slow", 0, 10, "pid 3", figures=cold),
            task("ex/M000/bad", 0.5, 0.7, "pid 4", "failed", error="ValueError: no"),
            task("ex/M000/open", 4.5, None, "pid 4"),
            task("inc-1", 20, 21, "tcp://w:1 #1", group="inc", phase="compute", framework="dask"),
            task("inc-1", 19.5, 20, "tcp://w:1 #1", group="inc", phase="transfer", framework="dask"),
        )

    def get(self) -> dict:
        response = self.api("viewer").get(f"/api/v1/jobs/{self.job.pk}/metrics/")
        assert response.status_code == 200, response.content
        return response.json()

    def test_counts_each_task_once_by_status(self):
        body = self.get()
        # 13 task/compute tasks (the transfer is part of inc-1), though 25 rows were written.
        assert body["tasks"] == 13
        assert body["statuses"] == {"running": 1, "finished": 11, "failed": 1, "lost": 0}

    def test_durations_of_finished_tasks(self):
        # Ten tasks of 1 s and one of 10 s; p95 interpolates between ranks 9 and 10: 1 + 0.5 * 9.
        assert self.get()["durations"] == {"count": 11, "min": 1.0, "p50": 1.0, "p95": 5.5, "max": 10.0,
                                           "mean": 20 / 11}  # fmt: skip

    def test_peak_concurrency(self):
        body = self.get()
        # a0, b0, slow and bad overlap over [0.5, 0.7]; tasks that touch (a0 ends as a1 starts) do not.
        assert (body["peak_concurrency"], body["peak_at"]) == (4, T0 + 0.5)

    def test_stragglers_are_slower_than_three_medians_and_p95(self):
        stragglers = self.get()["stragglers"]
        assert (stragglers["count"], stragglers["threshold"]) == (1, 5.5)
        assert stragglers["tasks"] == [
            {"key": "ex/M000/slow", "group": "ex/M000", "lane": "pid 3", "start": T0, "duration": 10.0}
        ]

    def test_cold_starts(self):
        assert self.get()["cold_starts"] == {"count": 3, "reported": 10}

    def test_groups(self):
        groups = {g["group"]: g for g in self.get()["groups"]}
        assert groups["ex/M000"] == {"group": "ex/M000", "framework": "lithops", "tasks": 12, "running": 1,
                                     "finished": 10, "failed": 1, "lost": 0, "start": T0, "end": T0 + 10}  # fmt: skip
        assert groups["inc"]["tasks"] == 1 and groups["inc"]["finished"] == 1

    def test_a_task_still_running_overlaps_until_now(self):
        job = make_job(self.t)  # still running
        store(job, task("long", 0, 100), task("open", 50, None, "pid 2"), task("next", 200, 201))
        response = self.api("viewer").get(f"/api/v1/jobs/{job.pk}/metrics/").json()
        # "open" has run since T0 + 50 and "next" started at T0 + 200 (long ago): both are open at 200.
        assert (response["peak_concurrency"], response["peak_at"]) == (2, T0 + 50)
        assert response["durations"]["count"] == 2


class TestResources(TenantTest):
    def get(self, job, **params) -> dict:
        response = self.api("viewer").get(f"/api/v1/jobs/{job.pk}/metrics/", params)
        assert response.status_code == 200, response.content
        return response.json()["resources"]

    def test_rates_come_from_the_cumulative_counters(self):
        job = make_job(self.t)
        store_samples(
            job,
            {"t": T0, "cpu_percent": 50, "rss_bytes": 100, "read_bytes": 0, "write_bytes": 10, "net_sent_bytes": 0},
            {"t": T0 + 1, "cpu_percent": 150, "rss_bytes": 300, "read_bytes": 100, "write_bytes": 10,
             "net_sent_bytes": 1000, "net_recv_bytes": 4000},
            {"t": T0 + 3, "cpu_percent": 100, "rss_bytes": 200, "read_bytes": 500, "write_bytes": 30,
             "net_sent_bytes": 1000, "net_recv_bytes": 6000},
        )  # fmt: skip
        resources = self.get(job)
        assert resources["samples"] == 3 and resources["samples_per_point"] == 1
        assert (resources["peak_rss_bytes"], resources["peak_cpu_percent"]) == (300, 150)
        first, second, third = resources["points"]
        assert first["read_bytes_per_s"] is None  # no sample before the first
        assert second == {"t": T0 + 1, "cpu_percent": 150, "rss_bytes": 300, "processes": 1,
                          "read_bytes_per_s": 100, "write_bytes_per_s": 0, "net_sent_bytes_per_s": 1000,
                          "net_recv_bytes_per_s": 4000}  # fmt: skip
        assert (third["read_bytes_per_s"], third["write_bytes_per_s"]) == (200, 10)
        assert (third["net_sent_bytes_per_s"], third["net_recv_bytes_per_s"]) == (0, 1000)

    def test_long_jobs_are_downsampled_keeping_peaks_and_average_rates(self):
        job = make_job(self.t)
        # 2500 samples a second apart, reading 10 bytes a second, with one memory spike.
        samples = [{"t": T0 + i, "cpu_percent": 100.0 * (i % 2), "rss_bytes": 1000, "read_bytes": 10 * i}
                   for i in range(2500)]  # fmt: skip
        samples[1234]["rss_bytes"] = 10**9
        store_samples(job, *samples)
        resources = self.get(job, points=500)
        assert resources["samples"] == 2500 and resources["samples_per_point"] == 5
        points = resources["points"]
        assert len(points) == 500
        assert max(p["rss_bytes"] for p in points) == 10**9
        assert all(p["read_bytes_per_s"] == 10 for p in points)
        assert points[1]["cpu_percent"] == pytest.approx((100 + 0 + 100 + 0 + 100) / 5)  # samples 5..9
        assert len(self.get(job)["points"]) == 834  # the default: at most 1000 points, groups of 3
