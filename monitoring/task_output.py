"""What a job's tasks printed: the runner's side of the agent's output lines (``monitoring.wire.parse_output``).

The ingest hands each output line here (its reader thread) and lets its flusher write what waits before the events
of the same flush, so a client that sees a task end can read its output. Every output is cut to
``PYRUN_TASK_OUTPUT_BYTES`` with a visible marker (the agent cuts too, but nothing from the job is trusted), and a
job keeps at most ``PYRUN_TASK_OUTPUT_BYTES_PER_JOB`` of them in all. Each kept output also becomes lines of the
job's log, on a stream of their own (``task``), each line prefixed with the task (``[task M000/3] hello``), for the
thread that writes the log to take (:meth:`TaskOutputs.take_lines`).
"""

from __future__ import annotations

import contextlib
from collections import deque

from django.conf import settings

from monitoring.models import TaskOutput
from monitoring.wire import parse_output

_CONTROLS = {code: "?" for code in range(32)}
CUT_MARKER = "… [output cut at {kib:,} KiB]\n"
ROW_COST = 64  # bytes charged to the job's budget per output, besides its text and key
JOB_CAP_NOTICE = (
    "[task output: the job's tasks printed more than {mib:,} MiB in all; the output of later tasks is not kept]\n"
)


def task_label(key: str) -> str:
    """How a task is named in the job's log: a Lithops key ``<executor>/<job>/<call>`` as ``<job>/<call number>``
    (``M000/3``), which tells the maps of a job apart; any other key as it is."""
    parts = key.rsplit("/", 2)
    if len(parts) == 3 and parts[2].isdigit():
        key = f"{parts[1]}/{int(parts[2])}"
    # The key comes from the job: a line break in it must not start a line of its own in the log.
    return key.translate(_CONTROLS)


def capped(text: str, cut: bool, limit: int) -> str:
    """``text`` cut to ``limit`` bytes (UTF-8), ending with the marker when anything was left out."""
    data = text.encode("utf-8", "replace")
    if len(data) > limit:
        text, cut = data[:limit].decode("utf-8", "ignore"), True
    if not cut:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + CUT_MARKER.format(kib=max(limit // 1024, 1))


def log_lines(key: str, text: str) -> str:
    """The output as the job's log shows it: every line prefixed with its task."""
    prefix = f"[task {task_label(key)}] "
    return "".join(prefix + line for line in text.splitlines(True)) + ("" if text.endswith("\n") else "\n")


class TaskOutputs:
    """One job's waiting outputs: taken by the ingest's reader thread, written by its flusher."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.limit = settings.PYRUN_TASK_OUTPUT_BYTES
        self.budget = settings.PYRUN_TASK_OUTPUT_BYTES_PER_JOB
        self.kept_bytes = 0
        self.over_budget = 0  # outputs not kept: the job's budget was spent
        self.waiting: deque[tuple[str, str]] = deque()
        self._lines: deque[str] = deque()

    def take(self, line: bytes) -> bool:
        """Queue the output on ``line``; False when the line is not one (the caller counts it rejected)."""
        parsed = parse_output(line)
        if parsed is None:
            return False
        key, text, cut = parsed
        text = capped(text, cut, self.limit).replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL
        # An output costs its row too: a job sending empty outputs under made-up keys still reaches the budget.
        size = len(text.encode("utf-8", "replace")) + len(key) + ROW_COST
        if self.kept_bytes + size > self.budget:
            if not self.over_budget:
                self._lines.append(JOB_CAP_NOTICE.format(mib=max(self.budget // 1024**2, 1)))
            self.over_budget += 1
            return True
        self.kept_bytes += size
        self.waiting.append((key, text))
        return True

    def write(self) -> int:
        """Store every waiting output (a task's first one wins: Lithops may report a call twice) and queue its log
        lines; how many were taken."""
        taken: list[tuple[str, str]] = []
        with contextlib.suppress(IndexError):  # popleft is atomic: the reader may append meanwhile
            for _ in range(len(self.waiting)):
                taken.append(self.waiting.popleft())
        if not taken:
            return 0
        rows = [TaskOutput(job_id=self.job_id, key=key, text=text) for key, text in taken]
        TaskOutput.objects.bulk_create(rows, ignore_conflicts=True)
        self._lines.extend(log_lines(key, text) for key, text in taken)
        return len(taken)

    def take_lines(self) -> list[str]:
        """The log's lines of the outputs written so far, each returned once (for the thread that writes the
        log)."""
        lines = []
        with contextlib.suppress(IndexError):
            while True:
                lines.append(self._lines.popleft())
        return lines
