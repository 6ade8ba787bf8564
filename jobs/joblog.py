"""A job's log: numbered chunks of its output and of the platform's lines about it, stored and published to the
job's websocket group (the writer itself is ``pyrun_web.logwriter``)."""

from __future__ import annotations

from typing import Any

from jobs import events
from jobs.models import Job, LogChunk
from pyrun_web.logwriter import LogWriter

FLUSH_SECONDS = 0.1  # output reaches the database and the websocket at most this late
FLUSH_BYTES = 256 * 1024  # ... or as soon as this much is waiting
CHUNK_CHARS = 64 * 1024  # largest chunk row
MAX_LOG_BYTES = 64 * 1024**2  # a job printing without end must not fill the database
STDERR_TAIL_CHARS = 8 * 1024

STDOUT, STDERR, SYSTEM = LogChunk.Stream.STDOUT, LogChunk.Stream.STDERR, LogChunk.Stream.SYSTEM
TASK = LogChunk.Stream.TASK


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
        self.path_names: list[tuple[str, str]] = []  # host path -> the name a tenant sees, longest path first
        self.held: dict[str, str] = {}  # per stream: the end of a read that may be the start of a host path

    def hide_paths(self, names: dict[str, str]) -> None:
        """From now on every line is written with these host paths replaced by their names."""
        self.path_names = sorted(((path, name) for path, name in names.items() if path), key=lambda p: -len(p[0]))

    def write(self, stream: str, text: str, *, final: bool = False) -> None:
        """``final``: the stream's last text (a host path's start held back from the previous read is let go)."""
        if self.path_names:
            text = self._without_paths(stream, text, final)
        if not text:
            return
        text = text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL; binary output is not text anyway
        if stream == STDERR:
            self.stderr_tail = (self.stderr_tail + text)[-STDERR_TAIL_CHARS:]
        self.add(stream, text)

    def _without_paths(self, stream: str, text: str, final: bool) -> str:
        # One str.replace per path and chunk, cheap on a loud job. A pipe read may end inside a path: that end
        # waits for the stream's next read (the platform's own lines are whole).
        if stream != SYSTEM:
            text = self.held.pop(stream, "") + text
            if not final and (cut := _path_start_at_end(text, self.path_names)) < len(text):
                text, self.held[stream] = text[:cut], text[cut:]
        for path, name in self.path_names:
            text = text.replace(path, name)
        return text

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


def _path_start_at_end(text: str, names: list[tuple[str, str]]) -> int:
    """Where the longest end of ``text`` that is the start (not the whole) of a host path begins; ``len(text)``
    when there is none. Only the places of a "/" are tried (host paths are absolute; a "/" is rare in output)."""
    at = text.find("/", max(0, len(text) - max(len(path) for path, _ in names) + 1))
    while at != -1:
        end = text[at:]
        if any(len(end) < len(path) and path.startswith(end) for path, _ in names):
            return at
        at = text.find("/", at + 1)
    return len(text)


def runtime_path_names(runtime: Any) -> dict[str, str]:
    """A runtime's host folders and the name a job's log shows instead, the one the runtime API uses
    (``runtimes.serializers.without_host_paths``): ``<runtime 12>``, so ``<runtime 12>/bin/python`` still says
    which interpreter ran. Its base interpreter's folder is left alone: it may be ``/usr``, a prefix of paths that
    are no runtime's."""
    own = f"<runtime {runtime.pk}>"
    folders = (runtime.prefix, str(runtime.build_dir or ""))
    return {path: own for path in folders if path.startswith("/") and path != "/"}
