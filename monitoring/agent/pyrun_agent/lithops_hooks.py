"""Lithops task events, from whichever side of a call runs in the job.

**Worker side** (``CallStatus.send_init_event`` / ``send_finish_event``): runs where the call runs, i.e. in the
task processes of the localhost backend, which the job starts and which inherit the agent. Lane ``pid <pid>``: a
localhost worker process runs its calls one after the other (``lithops.worker.handler.task_consumer``), so the bars
of one lane never overlap. Sent at once: those processes end with ``os._exit`` and would lose a queue.

**Client side** (``ResponseFuture._set_running`` / ``_set_ready`` / ``_set_futures`` / ``_set_exception``): runs in
the script's process for every backend, with the lag of Lithops' status polling. Lane ``""``: Lithops names no
worker, the runner packs those bars into slots. Queued and batched (Lithops' monitor thread calls these).

Which side reports is decided per future from what Lithops recorded for its job: the worker side reports when the
backend is ``localhost`` running a local interpreter (a container runtime does not carry the agent), and the client
side reports for every other backend. So a call is reported once, never twice. ``PYRUN_AGENT_LITHOPS_SIDE`` overrides
this (``client`` or ``worker``; ``auto`` or unset: the rule above); it exists for tests, which cannot reach Lambda.

Every call gets at most one ``running`` and exactly one ``finished`` or ``failed`` event; ``error`` holds the text of
the exception (``ZeroDivisionError: division by zero``).
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import os
import pickle
import re
import sys
import threading
import time
import zlib

from pyrun_agent import emitter

SIDE_ENV = "PYRUN_AGENT_LITHOPS_SIDE"
_PATCHED = "__pyrun_agent__"
_REPORTED = "_pyrun_agent_reported"  # on a future: 1 = running sent, 2 = finished or failed sent
_FIGURE_PREFIXES = ("host_", "worker_", "func_")
_MAX_FIGURES = 32
_PYTHON = re.compile(r"^python(\d+(\.\d+)*)?(\.exe)?$")
_reported_lock = threading.Lock()


# -- which side reports -----------------------------------------------------------------------------------------


def _forced_side() -> str:
    side = os.environ.get(SIDE_ENV, "").strip().lower()
    return side if side in ("client", "worker") else ""


def worker_side_reports(backend, runtime_name) -> bool:
    """Whether the agent runs where the calls of this backend run (then the client side stays silent)."""
    if backend != "localhost":
        return False
    name = str(runtime_name or "")
    # Lithops' own rule (lithops.localhost.config.get_environment): a path or an interpreter name runs locally,
    # anything else is a container image, where the agent is not.
    return name == "" or name.startswith("/") or ("/" not in name and _PYTHON.match(os.path.basename(name)) is not None)


def _client_reports(future) -> bool:
    side = _forced_side()
    if side:
        return side == "client"
    return not worker_side_reports(getattr(future, "backend", None), getattr(future, "runtime_name", None))


# -- shared pieces ----------------------------------------------------------------------------------------------


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _figures(*sources) -> dict:
    figures: dict = {}
    for source in sources:
        for name, value in source.items():
            if len(figures) >= _MAX_FIGURES:
                return figures
            if name in figures or not isinstance(name, str) or not name.startswith(_FIGURE_PREFIXES):
                continue
            if isinstance(value, float) and value != value:  # NaN is not JSON
                continue
            if value is None or isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) < 200):
                figures[name] = value
    return figures


class _Ignored:
    """Stands in for whatever tblib pickled besides the exception itself (traceback, frames, code)."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass


def _tblib_exception(func, args, *rest, **kwargs):
    return func(*args)


def _tblib_exception_with_attrs(func, attrs, *rest, args=(), **kwargs):
    exc = func.__new__(func, *args)
    for name, value in attrs.items():  # as tblib does: ``args`` is among them
        setattr(exc, name, value)
    return exc


_TBLIB = {"unpickle_exception": _tblib_exception, "unpickle_exception_with_attrs": _tblib_exception_with_attrs}


class _KnownClassesUnpickler(pickle.Unpickler):
    """Reads an exception without importing anything: a class whose module this process has not loaded fails
    the read (the log is the fallback). Lithops' workers pickle exceptions with tblib, whose traceback is skipped
    rather than rebuilt."""

    def find_class(self, module, name):
        if module.split(".")[0] == "tblib":
            return _TBLIB.get(name, _Ignored)
        if module not in sys.modules:
            raise pickle.UnpicklingError(f"{module} is not loaded")
        return super().find_class(module, name)


def _error_from_exc_info(encoded) -> str:
    if not isinstance(encoded, str):
        return ""
    raw = ast.literal_eval(encoded)  # Lithops sends repr(pickle bytes)
    loaded = _KnownClassesUnpickler(io.BytesIO(raw)).load()
    if isinstance(loaded, dict):  # the function's exception did not pickle: Lithops sent its text instead
        kind = str(loaded.get("exc_type", ""))
        match = re.match(r"^<class '(?:[\w.]*\.)?(\w+)'>$", kind)
        message = str(loaded.get("exc_value", "")).split("\n", 1)[0]
        return f"{match.group(1) if match else kind}: {message}"
    exc_type, exc_value = loaded[0], loaded[1]
    args = getattr(exc_value, "args", ())
    name = getattr(exc_type, "__name__", str(exc_type))
    if len(args) == 2 and args[0] == "HANDLER":  # a failure of Lithops' handler (timeout, killed process)
        return f"{name}: {args[1]}"
    message = str(exc_value)
    return f"{name}: {message}" if message else name


_TRACEBACK_MARK = "----------------------- EXCEPTION !-----------------------"


def _error_from_logs(encoded) -> str:
    """The exception lines of the traceback the worker printed to the call's log."""
    if not isinstance(encoded, str):
        return ""
    text = zlib.decompress(base64.b64decode(encoded)).decode("utf-8", "replace")
    start = text.rfind(_TRACEBACK_MARK)
    if start < 0:
        return ""
    block = text[start + len(_TRACEBACK_MARK) :].split("\n-----", 1)[0].strip("\n").splitlines()
    # The exception text starts after the last indented line (frames, source lines, carets).
    last_frame = max((i for i, line in enumerate(block) if line.startswith(" ") or line.startswith("Traceback")),
                     default=-1)  # fmt: skip
    return "\n".join(block[last_frame + 1 :]).strip()


def error_text(status: dict) -> str:
    for read, field in ((_error_from_exc_info, "exc_info"), (_error_from_logs, "logs")):
        text = ""
        with contextlib.suppress(Exception):  # a status we cannot read: try the next source
            text = read(status.get(field))
        if text:
            return text
    return "the call raised an exception (see its log)"


# What a call printed: Lithops' worker sends the call's log in its last status (``logs``: zlib, base64; what its
# client prints in debug mode, whatever the backend), and brackets the function's own output with these lines.
OUTPUT_ENV = "PYRUN_AGENT_OUTPUT_BYTES"
DEFAULT_OUTPUT_BYTES = 64 * 1024
_OUTPUT_HEAD_ROOM = 16 * 1024  # Lithops' own lines before the function's output
_FUNCTION_LOG = "---------------------- FUNCTION LOG ----------------------\n"
_FUNCTION_END = "\n" + "-" * 58 + "\n"
_LITHOPS_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[[A-Z]+\] [\w.]+:\d+ -- ")


def _output_bytes() -> int:
    try:
        return max(int(os.environ.get(OUTPUT_ENV, "")), 0)
    except ValueError:
        return DEFAULT_OUTPUT_BYTES


def function_output(status: dict, limit: int) -> tuple[str, bool]:
    """What the call's function printed (stdout and stderr, interleaved as written; a failed call's traceback
    block included), at most ``limit`` bytes, and whether there was more. A log is never decompressed past what
    the cap needs: a task that printed a gigabyte costs its head only."""
    encoded = status.get("logs")
    if not isinstance(encoded, str) or limit <= 0:
        return "", False
    inflate = zlib.decompressobj()
    raw = inflate.decompress(base64.b64decode(encoded), limit + _OUTPUT_HEAD_ROOM + len(_FUNCTION_END))
    whole = not inflate.unconsumed_tail
    text = raw.decode("utf-8", "replace")
    start = text.find(_FUNCTION_LOG)
    if start < 0:
        return "", False
    body = "\n" + text[start + len(_FUNCTION_LOG) :]
    end = body.rfind(_FUNCTION_END)
    if end >= 0 and whole:
        body = body[: end + 1]
    elif whole:
        # No closing line: the function's process died. Lithops' own last lines are not the function's.
        lines = body.splitlines(True)
        while lines and _LITHOPS_LINE.match(lines[-1]):
            lines.pop()
        body = "".join(lines)
    body = body[1:]
    data = body.encode("utf-8", "replace")
    if len(data) > limit:
        return data[:limit].decode("utf-8", "ignore"), True
    return body, not whole


def _send_output(sender, executor_id, job_id, call_id, status: dict) -> None:
    """The call's output, on a line of its own: an output is rare and big next to the events."""
    text, cut = function_output(status, _output_bytes())
    if text or cut:
        key = f"{executor_id}/{job_id}/{call_id}"
        sender.send_line_now({"output": {"key": key, "text": text, "cut": cut}})


def _event(executor_id, job_id, call_id, status, lane, start, end, error="", figures=None) -> dict:
    group = f"{executor_id}/{job_id}"
    return {
        "framework": "lithops",
        "group": group,
        "key": f"{group}/{call_id}",
        "phase": "task",
        "status": status,
        "lane": lane,
        "start": start,
        "end": end,
        "error": error,
        "figures": figures or {},
    }


# -- worker side ------------------------------------------------------------------------------------------------


def _worker_reports() -> bool:
    return _forced_side() != "client"


def _worker_sender() -> emitter.Emitter | None:
    """Where this worker's events go; None when it does not report its calls (no emitter, or the client does)."""
    sender = emitter.get()
    return sender if sender is not None and _worker_reports() else None


def _worker_running(call_status) -> None:
    if (sender := _worker_sender()) is None:
        return
    st = call_status.status
    start = _number(st.get("worker_start_tstamp")) or time.time()
    event = _event(st.get("executor_id"), st.get("job_id"), st.get("call_id"), "running", f"pid {os.getpid()}",
                   start, None)  # fmt: skip
    sender.send_now([event])


def _worker_finished(call_status) -> None:
    if (sender := _worker_sender()) is None:
        return
    st = call_status.status
    end = _number(st.get("worker_end_tstamp")) or time.time()
    start = _number(st.get("worker_start_tstamp")) or end
    failed = bool(st.get("exception"))
    event = _event(st.get("executor_id"), st.get("job_id"), st.get("call_id"), "failed" if failed else "finished",
                   f"pid {os.getpid()}", start, end, error_text(st) if failed else "", _figures(st))  # fmt: skip
    with contextlib.suppress(Exception):  # the bar's end goes out even if its output cannot be read
        _send_output(sender, st.get("executor_id"), st.get("job_id"), st.get("call_id"), st)
    sender.send_now([event])


def patch_status(module) -> None:
    """Wrap ``CallStatus.send_init_event/send_finish_event``; every monitoring backend's subclass goes through
    them (``super()``). Our event goes first, so it is out even if Lithops' own report then fails."""
    cls = module.CallStatus
    if getattr(cls.send_init_event, _PATCHED, False):
        return
    send_init, send_finish = cls.send_init_event, cls.send_finish_event

    def send_init_event(self):
        with contextlib.suppress(Exception):  # never into Lithops' worker
            _worker_running(self)
        return send_init(self)

    def send_finish_event(self):
        with contextlib.suppress(Exception):
            _worker_finished(self)
        return send_finish(self)

    for name, wrapper, original in (("send_init_event", send_init_event, send_init),
                                    ("send_finish_event", send_finish_event, send_finish)):  # fmt: skip
        wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = name, original.__doc__, original
        setattr(wrapper, _PATCHED, True)
        setattr(cls, name, wrapper)


# -- client side ------------------------------------------------------------------------------------------------


def _claim(future, level: int) -> bool:
    """Whether this future still needs an event of ``level`` (1 running, 2 finished/failed); marks it sent."""
    with _reported_lock:
        if getattr(future, _REPORTED, 0) >= level:
            return False
        setattr(future, _REPORTED, level)
        return True


def _client_sender(future, level: int) -> emitter.Emitter | None:
    """Where the client's event of ``level`` (see ``_claim``) for ``future`` goes; None when the client does not
    report this call, there is no emitter, or that event was sent already (it is marked sent here)."""
    if not _client_reports(future):
        return None
    sender = emitter.get()
    if sender is None or not _claim(future, level):
        return None
    return sender


def _client_running(future, call_status) -> None:
    if (sender := _client_sender(future, 1)) is None:
        return
    start = _number((call_status or {}).get("worker_start_tstamp")) or time.time()
    sender.put(_event(future.executor_id, future.job_id, future.call_id, "running", "", start, None))


def _client_finished(future, call_status) -> None:
    if (sender := _client_sender(future, 2)) is None:
        return
    st = call_status or {}
    end = _number(st.get("worker_end_tstamp")) or time.time()
    start = _number(st.get("worker_start_tstamp")) or end
    failed = bool(st.get("exception"))
    figures = _figures(st, getattr(future, "stats", None) or {})
    event = _event(future.executor_id, future.job_id, future.call_id, "failed" if failed else "finished", "",
                   start, end, error_text(st) if failed else "", figures)  # fmt: skip
    with contextlib.suppress(Exception):  # written now, so it is stored before the queued end of its bar
        _send_output(sender, future.executor_id, future.job_id, future.call_id, st)
    sender.put(event)


def _client_abandoned(future) -> None:
    """Lithops stopped tracking a call that had not finished (the script's wait raised): close its bar."""
    if getattr(future, "_state", None) != "Unknown":
        return
    if (sender := _client_sender(future, 2)) is None:
        return
    now = time.time()
    st = getattr(future, "_call_status", None) or {}
    stats = getattr(future, "stats", None) or {}
    start = _number(st.get("worker_start_tstamp")) or _number(stats.get("host_submit_tstamp")) or now
    error = "Lithops stopped tracking this call before it finished (the script's wait for it ended in an error)"
    sender.put(_event(future.executor_id, future.job_id, future.call_id, "failed", "", start, now, error,
                      _figures(stats)))  # fmt: skip


def _wrap(cls, name: str, report_after) -> None:
    original = getattr(cls, name, None)
    if original is None or getattr(original, _PATCHED, False):
        return

    def wrapper(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        with contextlib.suppress(Exception):  # never into the user's script
            report_after(self, *args, **kwargs)
        return result

    wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = name, original.__doc__, original
    setattr(wrapper, _PATCHED, True)
    setattr(cls, name, wrapper)


def patch_future(module) -> None:
    """Wrap the state changes of ``ResponseFuture`` that Lithops' job monitor makes."""
    cls = module.ResponseFuture
    _wrap(cls, "_set_running", _client_running)
    _wrap(cls, "_set_ready", _client_finished)
    _wrap(cls, "_set_futures", _client_finished)  # a call that returned futures: done, its futures are tracked
    _wrap(cls, "_set_exception", _client_abandoned)
