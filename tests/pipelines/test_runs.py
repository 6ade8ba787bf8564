"""Every pipeline launched through the API with small parameters runs green on the embedded default (a real
worker, the sandbox, runtimes built from the pipelines' own environment files), and its results in the workspace
are checked against a direct computation: TeraSort's output is sorted and complete, pi is within 5 sigma, the group-by
totals equal a direct count over the data set, the word counts equal a direct count of the corpus. Launching
twice reuses the runtime."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zlib
from collections import Counter, defaultdict

import pytest

from pipelines.registry import PIPELINES
from runtimes.models import Runtime
from tests.jobs.conftest import read_logs, wait_for
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow

PNG = b"\x89PNG\r\n\x1a\n"


class PipelineRunTest(TenantTest):
    def launch(self, slug: str, parameters: dict, **body) -> dict:
        response = self.api("member").post(
            f"/api/v1/pipelines/{slug}/launch/", {"parameters": parameters, **body}, format="json"
        )
        assert response.status_code == 201, response.content
        return response.json()

    def run(self, slug: str, parameters: dict) -> tuple[int, str]:
        """Launch, wait for the end, assert it succeeded; (workspace id, stdout)."""
        launched = self.launch(slug, parameters)
        done = wait_for(self.api("viewer"), launched["job"]["id"], timeout=240)
        chunks, _ = read_logs(self.api("viewer"), done["id"])
        stdout = "".join(c["text"] for c in chunks if c["stream"] == "stdout")
        others = "".join(c["text"] for c in chunks if c["stream"] != "stdout")
        assert done["state"] == "succeeded", (done, stdout[-3000:], others[-5000:])
        assert "Copied results/ to the workspace" in others
        return launched["workspace"]["id"], stdout

    def file(self, workspace_id: int, rel: str) -> bytes:
        response = self.api("viewer").get(f"/api/v1/workspaces/{workspace_id}/files/{rel}")
        assert response.status_code == 200, (rel, response.status_code)
        return b"".join(response.streaming_content)

    def json(self, workspace_id: int, rel: str) -> dict:
        return json.loads(self.file(workspace_id, rel))

    def listing(self, workspace_id: int, folder: str) -> list[str]:
        tree = self.api("viewer").get(f"/api/v1/workspaces/{workspace_id}/files/", {"path": folder}).json()
        return sorted(f"{folder}/{e['name']}" for e in tree["entries"] if e["type"] == "file")

    def png(self, workspace_id: int, rel: str) -> None:
        data = self.file(workspace_id, rel)
        assert data.startswith(PNG) and len(data) > 2000, rel


class TestPipelineRuns(PipelineRunTest):
    def test_flops(self, jobs_worker):
        ws, stdout = self.run("flops", {"tasks": 3, "size": 120, "loops": 2})
        result = self.json(ws, "results/flops.json")
        assert [t["task"] for t in result["per_task"]] == [0, 1, 2]
        assert result["all_verified"] and all(t["verified"] and t["gflops"] > 0 for t in result["per_task"])
        assert result["total_gflop"] == pytest.approx(3 * 2 * 120**3 * 2 / 1e9)
        assert result["sum_gflops"] == pytest.approx(sum(t["gflops"] for t in result["per_task"]))
        assert "GFLOP/s" in stdout and "total:" in stdout
        self.png(ws, "results/flops.png")

    def test_terasort_output_is_sorted_and_complete(self, jobs_worker):
        records = 3000
        ws, stdout = self.run("terasort", {"records": records, "partitions": 3, "reducers": 2, "keep_output": True})
        result = self.json(ws, "results/terasort.json")
        assert result["valid"] and "VALID" in stdout
        parts = self.listing(ws, "results/output")
        assert parts == ["results/output/part-00000", "results/output/part-00001"]
        data = b"".join(self.file(ws, rel) for rel in parts)
        assert len(data) == records * 100
        rows = [data[i : i + 100] for i in range(0, len(data), 100)]
        keys = [row[:10] for row in rows]
        assert keys == sorted(keys)  # globally sorted, across the partitions
        ids = [int(row[12:44], 16) for row in rows]
        assert sorted(ids) == list(range(records))  # every generated record, once
        for row, row_id in zip(rows, ids, strict=True):  # each intact (gensort's ASCII layout)
            assert row[10:12] == b"  " and row[44:46] == b"  " and row[-2:] == b"\r\n"
            assert row[46:98].decode() == "".join(c * 4 for c in f"{row_id:013X}")
        checksum = sum(zlib.crc32(row) for row in rows)
        assert checksum == result["generated"]["checksum"] == result["sorted_output"]["checksum"]
        assert result["generated"]["records"] == records
        self.png(ws, "results/terasort.png")

    def test_montecarlo_estimate_is_within_five_sigma(self, jobs_worker):
        tasks, samples, rounds = 4, 200_000, 2
        ws, stdout = self.run("montecarlo", {"tasks": tasks, "samples": samples, "rounds": rounds})
        result = self.json(ws, "results/montecarlo.json")
        assert [r["points"] for r in result["rounds"]] == [tasks * samples * (r + 1) for r in range(rounds)]
        n = tasks * samples * rounds
        p = math.pi / 4
        sigma = 4 * math.sqrt(p * (1 - p) / n)  # the estimate 4·inside/n is a scaled binomial proportion
        final = result["rounds"][-1]
        assert result["estimate"] == 4 * final["inside"] / n
        assert abs(result["estimate"] - math.pi) < 5 * sigma, (result["estimate"], sigma)
        for r in result["rounds"]:  # one line per round: its estimate and its error
            assert f"{r['estimate']:.8f}" in stdout and f"{r['error']:.2e}" in stdout
        self.png(ws, "results/montecarlo.png")

    def test_dask_analytics_totals_equal_a_direct_count(self, jobs_worker):
        rows = 5000
        ws, stdout = self.run("dask-analytics", {"rows": rows, "partitions": 3, "format": "csv"})
        parts = self.listing(ws, "results/data")
        assert len(parts) == 3
        expected: dict[str, dict[str, list]] = {"region": defaultdict(list), "product": defaultdict(list)}
        order_ids = []
        for rel in parts:
            for row in csv.DictReader(io.StringIO(self.file(ws, rel).decode())):
                order_ids.append(int(row["order_id"]))
                for key in expected:
                    expected[key][row[key]].append((int(row["quantity"]), float(row["unit_price"])))
        assert sorted(order_ids) == list(range(rows))
        for key, table in expected.items():
            name = "results/by_region.csv" if key == "region" else "results/by_product.csv"
            got = {r[key]: r for r in csv.DictReader(io.StringIO(self.file(ws, name).decode()))}
            assert set(got) == set(table)
            for group, sales in table.items():
                assert int(got[group]["orders"]) == len(sales)
                assert int(got[group]["quantity"]) == sum(q for q, _ in sales)
                assert float(got[group]["revenue"]) == pytest.approx(sum(q * p for q, p in sales), rel=1e-9)
        assert "By region:" in stdout and "total revenue" in stdout
        self.png(ws, "results/revenue_by_region.png")

    def test_wordcount_equals_a_direct_count(self, jobs_worker):
        ws, stdout = self.run("wordcount", {"mappers": 3, "top": 5})
        pattern = r"[a-z]+(?:'[a-z]+)*"
        corpus = self.file(ws, "data/corpus.txt").decode()
        assert corpus == (PIPELINES["wordcount"].folder / "data" / "corpus.txt").read_text()
        expected = Counter(re.findall(pattern, corpus.lower()))
        table = self.file(ws, "results/wordcount.csv").decode()
        got = {r["word"]: int(r["count"]) for r in csv.DictReader(io.StringIO(table))}
        assert got == expected
        summary = self.json(ws, "results/wordcount.json")
        assert summary["token_pattern"] == pattern and summary["total_words"] == sum(expected.values())
        assert f"{sum(expected.values())} words, {len(expected)} distinct" in stdout
        self.png(ws, "results/top_words.png")


class TestRuntimeReuse(PipelineRunTest):
    def test_launching_twice_reuses_the_runtime(self, jobs_worker):
        # At once: the second job waits for the build the first one started instead of starting its own.
        launched = [self.launch("wordcount", {"mappers": 1, "top": 3}) for _ in range(2)]
        done = [wait_for(self.api("viewer"), item["job"]["id"], timeout=240) for item in launched]
        assert [d["state"] for d in done] == ["succeeded", "succeeded"], done
        assert launched[0]["workspace"]["id"] != launched[1]["workspace"]["id"]
        assert done[0]["runtime"] == done[1]["runtime"]
        runtime = Runtime.objects.get(pk=done[0]["runtime"])
        assert runtime.attempts == 1  # one build
        assert Runtime.objects.filter(org=self.t.org).count() == 1
