"""A job's log: numbered chunks of its output and of the platform's lines about it, stored and published to the
job's websocket group (the writer itself is ``pyrun_web.logwriter``)."""

from __future__ import annotations

from jobs import events
from jobs.models import Job, LogChunk
from pyrun_web.logwriter import LogWriter

FLUSH_SECONDS = 0.1  # output reaches the database and the websocket at most this late
FLUSH_BYTES = 256 * 1024  # ... or as soon as this much is waiting
CHUNK_CHARS = 64 * 1024  # largest chunk row
MAX_LOG_BYTES = 64 * 1024**2  # a job printing without end must not fill the database
STDERR_TAIL_CHARS = 8 * 1024

STDOUT, STDERR, SYSTEM = LogChunk.Stream.STDOUT, LogChunk.Stream.STDERR, LogChunk.Stream.SYSTEM


class JobLog(LogWriter[LogChunk]):
    """The numbered chunks of one job; consecutive output of one stream is merged into one chunk. The cap counts
    bytes, and the platform's own lines are always kept."""

    model = LogChunk
    owner_field = "job_id"
    max_size = MAX_LOG_BYTES
    row_chars = CHUNK_CHARS
    uncapped_streams = frozenset({SYSTEM})
    flush_seconds = FLUSH_SECONDS
    flush_size = FLUSH_BYTES

    def __init__(self, job: Job) -> None:
        super().__init__(job.pk, written=job.log_bytes)
        self.job = job
        self.stderr_tail = ""  # what a failed script said last, to explain its exit

    def write(self, stream: str, text: str) -> None:
        if not text:
            return
        text = text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL; binary output is not text anyway
        if stream == STDERR:
            self.stderr_tail = (self.stderr_tail + text)[-STDERR_TAIL_CHARS:]
        self.add(stream, text)

    def system(self, line: str) -> None:
        self.write(SYSTEM, line.rstrip("\n") + "\n")

    def size(self, text: str) -> int:
        return len(text.encode("utf-8", "replace"))

    def truncation_notice(self) -> tuple[str, str]:
        limit = MAX_LOG_BYTES // 1024**2
        return SYSTEM, f"[output truncated: the job printed more than {limit} MiB; the rest is not kept]\n"

    def make_row(self, seq: int, stream: str, text: str) -> LogChunk:
        return LogChunk(job_id=self.owner_id, seq=seq, stream=stream, text=text)

    def flushed(self, rows: list[LogChunk], size: int) -> None:
        self.job.add_log_totals(sum(row.text.count("\n") for row in rows), size)

    def publish(self, rows: list[LogChunk]) -> None:
        events.publish_log(self.owner_id, rows)
