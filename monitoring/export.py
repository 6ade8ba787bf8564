"""Downloads of a job's task events, produced piece by piece so a job of a million tasks never sits in memory:
a Chrome trace (the Trace Event Format that chrome://tracing and https://ui.perfetto.dev open) and a CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Generator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Min
from django.http import HttpRequest, StreamingHttpResponse
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation

from monitoring.models import TaskEvent, TaskStatus
from monitoring.tasks_query import PRIMARY_PHASES, current_rows
from monitoring.timeline import lane_order

CHUNK_ROWS = 2000
Chunks = Generator[str, None, None]
CSV_COLUMNS = ["seq", "framework", "group", "key", "phase", "status", "lane", "start", "end", "duration", "error"]
_DASK_THREAD = re.compile(r"^(?P<worker>.+) #\d+$")  # "tcp://127.0.0.1:40123 #2": a thread of a worker
# Spreadsheets run a cell that starts with one of these as a formula; keys and errors come from user code.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filename(job_id: int, extension: str) -> str:
    return f"job-{job_id}-tasks.{extension}"


async def _from_thread(chunks: Chunks) -> AsyncIterator[str]:
    """The chunks, each produced in the thread the sync view ran in (and so on its database connection)."""
    step = sync_to_async(next, thread_sensitive=True)
    try:
        while (piece := await step(chunks, None)) is not None:
            yield piece
    finally:
        await sync_to_async(chunks.close, thread_sensitive=True)()


def download(request: HttpRequest, chunks: Chunks, content_type: str, name: str) -> StreamingHttpResponse:
    """A streamed attachment. Under ASGI (uvicorn) a sync iterator would be read whole into memory before the
    first byte is sent, so there the chunks are handed over as an async iterator."""
    asynchronous = isinstance(getattr(request, "_request", request), ASGIRequest)
    response = StreamingHttpResponse(_from_thread(chunks) if asynchronous else chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class DownloadNegotiation(DefaultContentNegotiation):
    """Downloads are streamed by their view whatever the client accepts (``Accept: text/csv`` is no 406); an
    error still leaves as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


def _lanes(job_id: int) -> tuple[dict[str, tuple[int, int]], list[dict[str, Any]]]:
    """(pid, tid) of each lane and the metadata events that name them. Dask threads go under their worker's
    process; other lanes (Lithops worker processes, packed slots) are threads of one process, the job."""
    lanes = sorted(TaskEvent.objects.filter(job_id=job_id).order_by().values_list("lane", flat=True).distinct(),
                   key=lane_order)  # fmt: skip
    pids = {f"job {job_id}": 1}
    ids: dict[str, tuple[int, int]] = {}
    metadata: list[dict[str, Any]] = []
    for tid, lane in enumerate(lanes, start=1):
        match = _DASK_THREAD.match(lane)
        process = match["worker"] if match else f"job {job_id}"
        pid = pids.setdefault(process, len(pids) + 1)
        ids[lane] = (pid, tid)
        metadata.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": lane}})
        metadata.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid, "args": {"sort_index": tid}})
    for process, pid in pids.items():
        metadata.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": process}})
        metadata.append({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0, "args": {"sort_index": pid}})
    return ids, metadata


def trace_chunks(job_id: int) -> Chunks:
    """The job as a Chrome trace: one complete event ("X") per ended task phase, named after its group (so a
    Lithops map or a Dask prefix has one colour) with the key, status and error in its args; a task still running
    is an unterminated begin event ("B"). Times are microseconds since the job's first task started (its epoch
    time is ``otherData.t0``)."""
    ids, metadata = _lanes(job_id)
    t0 = TaskEvent.objects.filter(job_id=job_id).aggregate(first=Min("start"))["first"] or 0.0
    yield '{"traceEvents":[\n' + ",\n".join(json.dumps(event) for event in metadata)
    rows = (
        current_rows(job_id)
        .order_by("start", "seq")
        .values_list("seq", "framework", "group", "key", "phase", "status", "lane", "start", "end", "error")
        .iterator(chunk_size=CHUNK_ROWS)
    )
    piece: list[str] = []
    for seq, framework, group, key, phase, status, lane, start, end, error in rows:
        pid, tid = ids.get(lane, (1, 0))
        name = group or key if phase in PRIMARY_PHASES else f"{group or key} ({phase})"
        args: dict[str, Any] = {"key": key, "group": group, "phase": phase, "status": status, "seq": seq}
        if error:
            args["error"] = error
        event: dict[str, Any] = {"name": name, "cat": f"{framework},{phase}", "ph": "X", "pid": pid, "tid": tid,
                                 "ts": round((start - t0) * 1e6, 3), "args": args}  # fmt: skip
        if status == TaskStatus.RUNNING:
            event["ph"] = "B"
        else:
            event["dur"] = round((end - start) * 1e6, 3)
        piece.append(json.dumps(event))
        if len(piece) >= CHUNK_ROWS:
            yield ",\n" + ",\n".join(piece)
            piece = []
    if piece:
        yield ",\n" + ",\n".join(piece)
    other = {"job": job_id, "t0": t0, "source": "PyRun Web"}
    yield '\n],"displayTimeUnit":"ms","otherData":' + json.dumps(other) + "}\n"


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(job_id: int) -> Chunks:
    """Every task event row (running rows included), in seq order, with the columns of ``CSV_COLUMNS``; times in
    epoch seconds, durations in seconds (empty while running)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = (
        TaskEvent.objects.filter(job_id=job_id)
        .order_by("seq")
        .values_list("seq", "framework", "group", "key", "phase", "status", "lane", "start", "end", "error")
        .iterator(chunk_size=CHUNK_ROWS)
    )
    for count, (seq, framework, group, key, phase, status, lane, start, end, error) in enumerate(rows, start=1):
        duration = "" if end is None else repr(end - start)
        writer.writerow([seq, framework, _cell(group), _cell(key), phase, status, _cell(lane), repr(start),
                         "" if end is None else repr(end), duration, _cell(error)])  # fmt: skip
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
