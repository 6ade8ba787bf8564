"""A build's log: lines from any thread (builders log from their build thread, rattler from its own) are
buffered and written by the build's owner in small batches, so a builder never touches the database (the writer
itself is ``pyrun_web.logwriter``)."""

from __future__ import annotations

from pyrun_web.logwriter import LogWriter
from runtimes import events
from runtimes.models import RuntimeLogLine

MAX_LINE_CHARS = 4000
# A build that prints without end (a runaway compiler, a loop in setup.py) must not fill the database.
MAX_LINES_PER_BUILD = 20_000


class BuildLog(LogWriter[RuntimeLogLine]):
    model = RuntimeLogLine
    owner_field = "runtime_id"
    max_size = MAX_LINES_PER_BUILD

    def __init__(self, runtime_id: int) -> None:
        super().__init__(runtime_id)
        self.runtime_id = runtime_id

    def write(self, text: str) -> None:
        """Queue a line (thread-safe); embedded newlines become separate lines."""
        self.add("", *(line[:MAX_LINE_CHARS] for line in str(text).split("\n")))

    def truncation_notice(self) -> tuple[str, str]:
        return "", f"[log truncated after {MAX_LINES_PER_BUILD} lines]"

    def make_row(self, seq: int, stream: str, text: str) -> RuntimeLogLine:
        return RuntimeLogLine(runtime_id=self.owner_id, seq=seq, text=text)

    def publish(self, rows: list[RuntimeLogLine]) -> None:
        events.publish_log(self.owner_id, [(row.seq, row.text) for row in rows])
