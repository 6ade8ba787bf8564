"""Exit codes of ``pyrun`` and the one exception commands raise to leave with one of them."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Stable exit codes: CI scripts branch on them, so they never change meaning."""

    OK = 0
    FAILED = 1  # the job failed (or, for health/whoami, the API answered with an error)
    USAGE = 2  # bad arguments, unknown workspace or job, refused credentials, any 4xx
    CANCELLED = 3  # the job was cancelled, including by Ctrl-C on a waiting `pyrun run`
    TIMED_OUT = 4  # the job hit its time limit, or `--timeout` ran out (the job is then cancelled)
    UNREACHABLE = 5  # network failures or 5xx answers that outlasted the retries


EXIT_BY_STATE: dict[str, Exit] = {
    "succeeded": Exit.OK,
    "failed": Exit.FAILED,
    "cancelled": Exit.CANCELLED,
    "timed_out": Exit.TIMED_OUT,
}
TERMINAL_STATES = frozenset(EXIT_BY_STATE)


class CliError(Exception):
    """Ends the command: ``main`` prints the message to stderr and exits with the code."""

    def __init__(self, message: str, code: Exit = Exit.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
