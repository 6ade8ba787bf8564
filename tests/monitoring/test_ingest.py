"""The runner's end of the agent socket: real Unix sockets in, ``TaskEvent`` rows out."""

from __future__ import annotations

import itertools
import json
import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.models import Job
from monitoring.ingest import EventIngest
from monitoring.lanes import SlotPacker
from monitoring.models import TaskEvent
from tests.jobs.conftest import make_workspace
from tests.tenants import TenantTest


def event(key: str, start: float, end: float | None, status: str = "finished", lane: str = "", **extra) -> dict:
    return {"framework": "lithops", "group": "ex/M000", "key": key, "phase": "task", "status": status, "lane": lane,
            "start": start, "end": end, "error": "", "figures": {}, **extra}  # fmt: skip


def send(path, *lines: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(path))
        for line in lines:
            sock.sendall(line)


def line(*events: dict) -> bytes:
    return json.dumps(list(events)).encode() + b"\n"


def wait_until(predicate, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def job(tenants) -> Job:
    workspace = make_workspace(tenants)
    return Job.objects.create(org=tenants.org, workspace=workspace, entrypoint="main.py", backend="lithops-localhost")


class TestIngest(TenantTest):
    def test_events_of_several_connections_get_gap_free_seqs(self, job):
        ingest = EventIngest(job.pk).start()
        try:
            for n in range(3):
                send(ingest.path, line(*(event(f"k{n}-{i}", 10.0 + i, 10.5 + i, lane=f"pid {n}") for i in range(50))))
            wait_until(lambda: len(ingest.waiting) == 150)
            assert ingest.flush() == 150
        finally:
            ingest.close()
        seqs = list(TaskEvent.objects.filter(job=job).values_list("seq", flat=True))
        assert seqs == list(range(1, 151))
        assert set(TaskEvent.objects.filter(job=job).values_list("lane", flat=True)) == {"pid 0", "pid 1", "pid 2"}

    def test_malformed_lines_are_skipped_and_the_good_events_kept(self, job):
        ingest = EventIngest(job.pk).start()
        try:
            send(
                ingest.path,
                b"not json\n",
                line(event("good-1", 1.0, 2.0), {"framework": "lithops", "key": "no-phase"}, event("good-2", 2.0, 3.0)),
                line({"fw": "spark", "key": "x", "phase": "task", "status": "finished", "start": 1}),
                b'{"fw": "dask"}\n',
            )
        finally:
            ingest.close()
        assert list(TaskEvent.objects.filter(job=job).values_list("key", flat=True)) == ["good-1", "good-2"]
        assert ingest.rejected == 4

    def test_a_seq_the_job_writes_is_ignored(self, job):
        # The struct the agent's lines decode into has a seq field: a job naming its own would collide or
        # reorder the Gantt's history. The ingest numbers every event itself.
        ingest = EventIngest(job.pk).start()
        try:
            send(ingest.path, line(event("a", 1.0, 2.0, seq=1), event("b", 1.0, 2.0, seq=1)),
                 line(event("c", 1.0, 2.0, seq=10**12)))  # fmt: skip
            wait_until(lambda: len(ingest.waiting) == 3)
            assert ingest.flush() == 3
        finally:
            ingest.close()
        assert list(TaskEvent.objects.filter(job=job).order_by("seq").values_list("seq", "key")) == [
            (1, "a"), (2, "b"), (3, "c")
        ]  # fmt: skip

    def test_a_nul_in_an_event_is_stored_as_a_replacement_character_and_its_batch_kept(self, job):
        # PostgreSQL text cannot hold NUL: before, one such event failed the whole flush and with it the job.
        ingest = EventIngest(job.pk).start()
        try:
            nul = event("k\x00ey", 1.0, 2.0, error="bad\x00", figures={"n\x00": "v\x00"})
            send(ingest.path, line(event("before", 1.0, 2.0), nul, event("after", 1.0, 2.0)))
        finally:
            ingest.close()
        rows = list(TaskEvent.objects.filter(job=job).order_by("seq").values_list("key", "error", "figures"))
        assert rows == [("before", "", {}), ("k\ufffdey", "bad\ufffd", {"n\ufffd": "v\ufffd"}), ("after", "", {})]

    def test_a_job_cannot_report_a_task_lost(self, job):
        # Only the runner decides a task is lost (the job ended under it): a script could otherwise hide a failure.
        ingest = EventIngest(job.pk).start()
        try:
            send(ingest.path, line(event("sly", 1.0, 2.0, status="lost"), event("fine", 1.0, 2.0)))
        finally:
            ingest.close()
        assert list(TaskEvent.objects.filter(job=job).values_list("key", "status")) == [("fine", "finished")]
        assert ingest.rejected == 1

    def test_a_line_over_the_size_limit_is_dropped_whole(self, job, monkeypatch):
        monkeypatch.setattr("monitoring.ingest.MAX_LINE_BYTES", 1000)
        ingest = EventIngest(job.pk).start()
        try:
            huge = line(*(event(f"big-{i}", 1.0, 2.0) for i in range(100)))
            send(ingest.path, huge, line(event("after", 3.0, 4.0)))
        finally:
            ingest.close()
        assert list(TaskEvent.objects.filter(job=job).values_list("key", flat=True)) == ["after"]

    def test_close_keeps_what_a_process_wrote_just_before_it_ended(self, job):
        ingest = EventIngest(job.pk).start()
        send(ingest.path, line(*(event(f"last-{i}", 1.0, 2.0, lane="pid 1") for i in range(2000))))
        ingest.close()  # no flush before: close reads the connection to its end and writes everything
        assert TaskEvent.objects.filter(job=job).count() == 2000
        assert not ingest.path.exists()

    def test_a_task_that_never_reported_its_end_ends_lost_with_the_job(self, job):
        ingest = EventIngest(job.pk).start()
        started = time.time() - 5
        send(
            ingest.path,
            line(event("killed", started, None, status="running", lane="pid 7")),
            line(event("done", started, None, status="running", lane="pid 8")),
            line(event("done", started, started + 1, lane="pid 8")),
        )
        wait_until(lambda: ingest.due() or ingest.written)
        ingest.close()  # the job's processes are gone

        ends = {e.key: e for e in TaskEvent.objects.filter(job=job).exclude(status="running")}
        assert set(ends) == {"killed", "done"}
        lost = ends["killed"]
        # Lost, not failed: it did not raise, the job's end (a cancel, a kill) stopped it.
        assert (lost.status, lost.lane, lost.start) == ("lost", "pid 7", started)
        assert lost.end >= started + 5 and "did not report its end" in lost.error
        assert ends["done"].status == "finished"
        assert [e.seq for e in TaskEvent.objects.filter(job=job)] == [1, 2, 3, 4]

    def test_events_without_a_lane_are_packed_into_slots_that_never_overlap(self, job):
        ingest = EventIngest(job.pk).start()
        try:
            # Ten tasks of 1 s started every 0.25 s (four run at once), reported as they start and end.
            timeline = [(i * 0.25, 1, event(f"t{i}", i * 0.25, None, status="running")) for i in range(10)]
            timeline += [(i * 0.25 + 1.0, 0, event(f"t{i}", i * 0.25, i * 0.25 + 1.0)) for i in range(10)]
            send(ingest.path, *(line(item) for _, _, item in sorted(timeline, key=lambda x: x[:2])))
        finally:
            ingest.close()
        rows = list(TaskEvent.objects.filter(job=job).values("key", "status", "lane", "start", "end"))
        lanes = {(r["key"], r["status"]): r["lane"] for r in rows}
        assert all(lanes[(f"t{i}", "running")] == lanes[(f"t{i}", "finished")] for i in range(10))
        done = [r for r in rows if r["status"] == "finished"]
        assert len({r["lane"] for r in done}) == 4
        assert_no_overlap([(r["lane"], r["start"], r["end"]) for r in done])


def assert_no_overlap(bars: list[tuple[str, float, float]]) -> None:
    by_lane: dict[str, list[tuple[float, float]]] = {}
    for lane, start, end in bars:
        by_lane.setdefault(lane, []).append((start, end))
    for intervals in by_lane.values():
        intervals.sort()
        for (_, end), (start, _) in itertools.pairwise(intervals):
            assert start >= end


intervals = st.lists(
    st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0, 10, allow_nan=False), st.booleans()), max_size=60
)


@given(intervals)
@settings(max_examples=200, deadline=None)
def test_packed_slots_never_overlap_whatever_the_arrival_order(items):
    packer = SlotPacker()
    placed = []
    for i, (start, _, announced) in enumerate(items):
        if announced:  # a running event first, as the client side reports it
            packer.place(f"k{i}", "task", start, None)
    for i, (start, length, _) in enumerate(items):
        placed.append((packer.place(f"k{i}", "task", start, start + length), start, start + length))
    assert_no_overlap(placed)
