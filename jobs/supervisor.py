"""Supervises one sandboxed job process: streams its stdout and stderr into the job's log, beats, samples the
process tree, measures the job's disk use, and stops it on cancel, reap, time limit or disk quota; then tells
why a non-zero exit happened."""

from __future__ import annotations

import codecs
import contextlib
import os
import queue
import re
import signal
import threading
import time
from dataclasses import dataclass

from jobs.disk import DiskQuota
from jobs.joblog import FLUSH_BYTES, STDERR, STDOUT, TASK, JobLog
from jobs.models import Job, JobState
from monitoring import live as monitoring_live
from monitoring.ingest import EventIngest
from monitoring.samples import ProcessTreeSampler
from pyrun_web import sandbox
from pyrun_web.errors import PyrunError
from pyrun_web.heartbeat import Ticker
from pyrun_web.sandbox import ResourceLimits

LOOP_SECONDS = 0.02  # longest wait for output before the loop looks at task events, state and samples again
STATE_POLL_SECONDS = 0.25  # how quickly a cancel (or a reaper) is noticed
HEARTBEAT_SECONDS = 3.0  # well under PYRUN_JOB_HEARTBEAT_TIMEOUT_SECONDS
SAMPLE_SECONDS = 1.0
# Once the process has exited, how long its pipes may stay open (only a daemon escaping the sandbox's PID
# namespace, i.e. running without bwrap, can hold them).
EXIT_GRACE_SECONDS = 2.0
READ_BYTES = 64 * 1024
# Last lines of a traceback that mean a resource limit, not a bug in the script.
_MEMORY_ERROR = re.compile(r"MemoryError\b|\w+(\.\w+)*\._ArrayMemoryError|.*Cannot allocate memory")
_PROCESS_LIMIT = re.compile(r"BlockingIOError: \[Errno 11\]|RuntimeError: can't start new thread")
_DISK_FULL = re.compile(r".*(\[Errno 28\]|No space left on device)")


# --- Running the process -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    exit_code: int | None = None
    stopped_as: str = ""  # the state someone else moved the job to (cancelled, failed by the reaper, timed out)
    process_limit_hit: bool = False
    disk_quota_hit: bool = False


def _read_pipe(fd: int, stream: str, out: queue.Queue) -> None:
    try:
        while data := os.read(fd, READ_BYTES):
            out.put((stream, data))
    except OSError:
        pass
    finally:
        out.put((stream, None))


def _has_exited(pid: int) -> bool:
    # WNOWAIT: look without reaping, so the pids cgroup (removed when Popen reaps) can still be read.
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _pids_limit_hits(process: sandbox.SandboxProcess) -> int:
    if process.pids_cgroup is None:
        return 0
    try:
        text = (process.pids_cgroup / "pids.events").read_text()
    except OSError:
        return 0
    found = re.search(r"^max (\d+)", text, re.M)
    return int(found.group(1)) if found else 0


def _normal_exit_code(code: int) -> int:
    # bwrap reports a signal death as 128+N, a plain Popen (no bwrap) as -N: show the shell's form either way.
    return 128 - code if code < 0 else code


class Supervisor:
    """Streams one sandboxed process into the job log (and its agent's task events and resource samples into
    monitoring) and stops it on cancel, reap or time limit."""

    def __init__(
        self,
        job: Job,
        log: JobLog,
        process: sandbox.SandboxProcess,
        max_seconds: int,
        ingest: EventIngest | None,
        disk: DiskQuota,
    ) -> None:
        self.job = job
        self.log = log
        self.process = process
        self.max_seconds = max_seconds
        self.ingest = ingest
        self.usage = ProcessTreeSampler(process.pid)
        self.next_sample_seq = 1
        self.outcome = Outcome()
        self.queue: queue.Queue = queue.Queue()
        self.decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in (STDOUT, STDERR)}
        self.open_streams = {STDOUT, STDERR}
        self.disk = disk

    def run(self) -> Outcome:
        readers = [
            threading.Thread(target=_read_pipe, args=(pipe.fileno(), stream, self.queue), daemon=True)
            for pipe, stream in ((self.process.stdout, STDOUT), (self.process.stderr, STDERR))
        ]
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + self.max_seconds
        poll, beat, sample = Ticker(STATE_POLL_SECONDS), Ticker(HEARTBEAT_SECONDS), Ticker(SAMPLE_SECONDS)
        exited_at: float | None = None
        while True:
            self._drain(timeout=LOOP_SECONDS)
            now = time.monotonic()
            if self.log.due():
                self.log.flush()
            if self.ingest is not None:
                self.ingest.check()  # the events are written by the ingest's own thread
                for line in self.ingest.take_notices():  # e.g. the cap on task events was reached
                    self.log.system(line)
                for text in self.ingest.outputs.take_lines():  # what its tasks printed
                    self.log.write(TASK, text)
            if exited_at is None and _has_exited(self.process.pid):
                exited_at = now
                self.outcome.process_limit_hit = _pids_limit_hits(self.process) > 0
            if exited_at is not None and (not self.open_streams or now - exited_at > EXIT_GRACE_SECONDS):
                break
            if self.outcome.stopped_as:
                continue  # killed: only waiting for the pipes to close
            if poll.due(now):
                state = self.job.current_state()
                if state != JobState.RUNNING:
                    self._stop(str(state))
                    continue
            if now >= deadline and exited_at is None:
                self.job.time_out(self.max_seconds)
                self._stop(self.job.state)
                continue
            if beat.due(now):
                self.job.beat()
            if exited_at is None and sample.due(now):
                self._sample()
            if exited_at is None and self.disk.due(now) and self.disk.exceeded():
                self._stop_for_disk()
        self.process.kill_all()  # anything left (a fallback sandbox's daemon holding the pipes)
        code = self._reap()
        for reader in readers:
            reader.join(1)
        self._drain(timeout=0)
        for stream, decoder in self.decoders.items():
            self.log.write(stream, decoder.decode(b"", final=True), final=True)
        if not any(reader.is_alive() for reader in readers):  # else a reader would read a reused descriptor
            self.process.stdout.close()
            self.process.stderr.close()
        self.outcome.exit_code = _normal_exit_code(code)
        # Written in its last moments: the working copy is still there to measure (the tmpfs are gone).
        if not self.outcome.disk_quota_hit and self.disk.limit and self.disk.exceeded():
            self.outcome.disk_quota_hit = True
        return self.outcome

    def _stop_for_disk(self) -> None:
        self.outcome.disk_quota_hit = True
        self.process.kill_all()
        self.log.system(
            f"== stopped: the job used {human_bytes(self.disk.last_used)} of disk, over its limit of "
            f"{human_bytes(self.disk.limit or 0)}"
        )

    def _sample(self) -> None:
        sample = self.usage.sample(self.next_sample_seq, self.job.pk)
        if sample is None:
            return
        sample.save(force_insert=True)
        self.next_sample_seq += 1
        monitoring_live.publish_samples(self.job.pk, [sample])

    def _reap(self) -> int:
        """Reap the sandbox with its resource usage; Popen then only releases the sandbox's host resources."""
        try:
            _, status, usage = os.wait4(self.process.pid, 0)
        except ChildProcessError:  # reaped elsewhere: Popen knows the code
            return self.process.wait()
        self.usage.reaped(usage)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        return self.process.wait()

    def _drain(self, timeout: float) -> None:
        try:
            item = self.queue.get(timeout=timeout) if timeout else self.queue.get_nowait()
        except queue.Empty:
            return
        while True:
            stream, data = item
            if data is None:
                self.open_streams.discard(stream)
            else:
                self.log.write(stream, self.decoders[stream].decode(data))
            if self.log.pending_size >= FLUSH_BYTES:
                return  # let the caller flush before reading on
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return

    def _stop(self, state: str) -> None:
        self.outcome.stopped_as = state
        self.process.kill_all()
        reasons = {
            JobState.CANCELLED: "== cancelled: the job's processes were stopped",
            JobState.TIMED_OUT: f"== stopped: the job ran longer than its limit of {self.max_seconds} s",
        }
        self.log.system(reasons.get(state, f"== stopped: the job is {state} (its worker was given up on)"))


# --- Why it ended -----------------------------------------------------------------------------------------------


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


_TRACEBACK = "Traceback (most recent call last):"
# The last line of a traceback: ``ValueError: bad`` or ``pkg.module.CustomError`` (no message).
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(: .*)?$")
EXCEPTION_CHARS = 300


def exit_error(
    code: int, stderr_tail: str, limits: ResourceLimits, process_limit_hit: bool, disk_quota_hit: bool = False
) -> PyrunError:
    """Why a non-zero exit happened, as readable as we can tell: a resource limit, a signal, or the code."""
    # The last line of a traceback is the exception that ended the script.
    last_line = (stderr_tail.strip().splitlines() or [""])[-1]
    if limits.disk_bytes and (disk_quota_hit or _DISK_FULL.match(last_line)):
        return PyrunError("job:user:disk-quota", limit=human_bytes(limits.disk_bytes), code=code)
    if limits.max_processes and (process_limit_hit or _PROCESS_LIMIT.match(last_line)):
        return PyrunError("job:user:process-limit", limit=limits.max_processes, code=code)
    # RLIMIT_AS makes allocations fail (MemoryError); a native library may be killed instead.
    if limits.memory_bytes and (_MEMORY_ERROR.match(last_line) or code == 128 + signal.SIGKILL):
        return PyrunError("job:user:memory-limit", limit=human_bytes(limits.memory_bytes), code=code)
    if code > 128:
        with contextlib.suppress(ValueError):
            return PyrunError("job:user:killed", signal=signal.Signals(code - 128).name, code=code)
    if _TRACEBACK in stderr_tail and _EXCEPTION_LINE.match(last_line):
        # What a user reads first: the exception that ended the script, not only its exit code.
        exception = last_line if len(last_line) <= EXCEPTION_CHARS else f"{last_line[: EXCEPTION_CHARS - 1]}…"
        return PyrunError("job:user:exception", exception=exception, code=code)
    return PyrunError("job:user:exit-code", code=code)
