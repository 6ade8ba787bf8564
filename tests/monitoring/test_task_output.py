"""What a Lithops task prints: read from the call's log by the agent, kept per task (cut at a cap with a marker),
listed as ``output`` on the task's row of ``GET /api/v1/jobs/{id}/tasks/`` and copied into the job's log on the
``task`` stream."""

from __future__ import annotations

import base64
import json
import socket
import zlib

import pytest

from jobs.models import Job
from monitoring.ingest import EventIngest
from monitoring.models import TaskOutput
from monitoring.task_output import CUT_MARKER
from tests.jobs.conftest import make_workspace, read_logs, start_run, wait_for
from tests.monitoring.agent_harness import AGENT_DIR
from tests.tenants import TenantTest

PRINTING_MAP = """\
import os, sys
import lithops

if os.environ.get("REPORT_SIDE"):  # who reports the calls: the script (as on Lambda) rather than the workers
    os.environ["PYRUN_AGENT_LITHOPS_SIDE"] = os.environ["REPORT_SIDE"]


def shout(x):
    print(f"hello from {x}")
    print(f"oops from {x}", file=sys.stderr)
    if x == 2:
        print("y" * 100_000)
    return x


executor = lithops.FunctionExecutor()
print(executor.get_result(executor.map(shout, range(3))))
"""

FAILING_MAP = """\
import lithops


def invert(x):
    print(f"inverting {x}")
    return 1 / x


executor = lithops.FunctionExecutor()
executor.wait(executor.map(invert, [0]), throw_except=False)
"""

LITHOPS_HEAD = (
    "2026-12-05 21:04:55,312 [INFO] handler.py:485 -- Lithops v3.8.0 - Starting Localhost execution\n"
    "2026-12-05 21:04:55,442 [INFO] jobrunner.py:381 -- Going to execute 'f()'\n"
    "---------------------- FUNCTION LOG ----------------------\n"
)
LITHOPS_TAIL = (
    "----------------------------------------------------------\n"
    "2026-12-05 21:04:55,442 [INFO] jobrunner.py:388 -- Success function execution\n"
    "2026-12-05 21:04:55,445 [INFO] jobrunner.py:409 -- Process finished\n"
)


def status_with_log(log: str) -> dict:
    """A call's last status as Lithops' worker sends it (every backend: Lambda's too): the log, compressed."""
    return {"logs": base64.b64encode(zlib.compress(log.encode())).decode()}


def tasks(client, job_id: int) -> dict[str, dict]:
    rows = client.get(f"/api/v1/jobs/{job_id}/tasks/?page_size=100").json()["results"]
    return {row["key"].rsplit("/", 1)[1]: row for row in rows}


class TestFunctionOutputFromTheCallLog:
    """The agent's reading of a call's log (the same status field whatever the backend: on Lambda it is what
    Lithops' client reads back from storage), without a job."""

    @pytest.fixture
    def hooks(self, monkeypatch):
        monkeypatch.syspath_prepend(str(AGENT_DIR))
        from pyrun_agent import lithops_hooks

        return lithops_hooks

    def test_keeps_only_what_the_function_printed(self, hooks):
        log = LITHOPS_HEAD + "hello\nerr line\n" + LITHOPS_TAIL
        assert hooks.function_output(status_with_log(log), 1024) == ("hello\nerr line\n", False)

    def test_a_failed_call_keeps_its_traceback(self, hooks):
        log = (LITHOPS_HEAD + "before\n----------------------- EXCEPTION !-----------------------\nTraceback (most "
               "recent call last):\n  File \"x.py\", line 1, in f\nValueError: boom\n" + LITHOPS_TAIL)  # fmt: skip
        text, cut = hooks.function_output(status_with_log(log), 1024)
        assert text.startswith("before\n") and text.endswith("ValueError: boom\n") and not cut
        assert "Process finished" not in text

    def test_a_killed_call_keeps_its_output_without_lithops_lines(self, hooks):
        log = LITHOPS_HEAD + "half\n2026-12-05 21:04:55,445 [INFO] jobrunner.py:409 -- Process finished\n"
        assert hooks.function_output(status_with_log(log), 1024) == ("half\n", False)

    def test_a_long_output_is_cut_at_the_limit(self, hooks):
        log = LITHOPS_HEAD + "z" * 10_000_000 + "\n" + LITHOPS_TAIL
        text, cut = hooks.function_output(status_with_log(log), 1000)
        assert (text, cut) == ("z" * 1000, True)

    def test_no_log_or_no_function_is_no_output(self, hooks):
        assert hooks.function_output({}, 1024) == ("", False)
        assert hooks.function_output(status_with_log("2026 [INFO] only lithops\n"), 1024) == ("", False)


@pytest.fixture
def job(tenants) -> Job:
    workspace = make_workspace(tenants)
    return Job.objects.create(org=tenants.org, workspace=workspace, entrypoint="main.py", backend="lithops-localhost")


def output_line(key: str, text: str, cut: bool = False) -> bytes:
    return json.dumps({"output": {"key": key, "text": text, "cut": cut}}, separators=(",", ":")).encode() + b"\n"


class TestIngestOfOutputs(TenantTest):
    def test_an_output_longer_than_the_cap_is_cut_with_a_marker(self, job, settings):
        settings.PYRUN_TASK_OUTPUT_BYTES = 2048
        ingest = EventIngest(job.pk).start()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(str(ingest.path))
                sock.sendall(output_line("ex/M000/00000", "é" * 5000) + output_line("ex/M000/00001", "short\n"))
        finally:
            ingest.close()
        outputs = dict(TaskOutput.objects.filter(job=job).values_list("key", "text"))
        cut = outputs["ex/M000/00000"]
        assert cut == "é" * 1024 + "\n" + CUT_MARKER.format(kib=2)
        assert outputs["ex/M000/00001"] == "short\n"
        assert ingest.outputs.take_lines() == [
            f"[task M000/0] {'é' * 1024}\n[task M000/0] … [output cut at 2 KiB]\n",
            "[task M000/1] short\n",
        ]

    def test_past_the_jobs_budget_outputs_are_not_kept_and_the_log_says_so(self, job, settings):
        settings.PYRUN_TASK_OUTPUT_BYTES = settings.PYRUN_TASK_OUTPUT_BYTES_PER_JOB = 1024**2
        ingest = EventIngest(job.pk).start()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(str(ingest.path))
                for n in range(3):
                    sock.sendall(output_line(f"ex/M000/{n:05}", "x" * 600_000))
        finally:
            ingest.close()
        assert list(TaskOutput.objects.filter(job=job).values_list("key", flat=True)) == ["ex/M000/00000"]
        assert "printed more than 1 MiB in all" in "".join(ingest.outputs.take_lines())

    def test_a_malformed_output_line_is_rejected(self, job):
        ingest = EventIngest(job.pk).start()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(str(ingest.path))
                sock.sendall(b'{"output":{"key":5,"text":"x"}}\n{"output":[1]}\n{"output":\n')
        finally:
            ingest.close()
        assert not TaskOutput.objects.filter(job=job).exists()
        assert ingest.rejected == 3


@pytest.mark.slow
class TestPrintingRuns(TenantTest):
    @pytest.mark.parametrize("side", ["worker", "client"])
    def test_what_each_task_printed_is_its_rows_output_and_in_the_log_on_the_task_stream(self, jobs_worker, side):
        client = self.api("member")
        workspace = make_workspace(self.t, {"shout.py": PRINTING_MAP}, template="lithops")
        job = wait_for(client, start_run(client, workspace.pk, "shout.py", env={"REPORT_SIDE": side})["id"])
        assert job["state"] == "succeeded"
        rows = tasks(client, job["id"])
        assert sorted(rows) == ["00000", "00001", "00002"]
        assert rows["00000"]["output"] == "hello from 0\noops from 0\n"
        assert rows["00001"]["output"] == "hello from 1\noops from 1\n"
        big = rows["00002"]["output"]
        assert big.startswith("hello from 2\noops from 2\nyyy") and big.endswith("… [output cut at 64 KiB]\n")
        assert len(big.encode()) < 64 * 1024 + 100

        chunks, _ = read_logs(client, job["id"])
        task_text = "".join(chunk["text"] for chunk in chunks if chunk["stream"] == "task")
        assert "[task M000/0] hello from 0\n" in task_text and "[task M000/1] oops from 1\n" in task_text
        assert "[task M000/2] … [output cut at 64 KiB]\n" in task_text
        stdout = "".join(chunk["text"] for chunk in chunks if chunk["stream"] == "stdout")
        assert "hello from" not in stdout  # the script's own output stays apart: [0, 1, 2]

    def test_a_failed_task_shows_what_it_printed_and_its_traceback(self, jobs_worker):
        client = self.api("member")
        workspace = make_workspace(self.t, {"fail.py": FAILING_MAP}, template="lithops")
        job = wait_for(client, start_run(client, workspace.pk, "fail.py")["id"])
        (row,) = tasks(client, job["id"]).values()
        assert row["status"] == "failed"
        assert row["output"].startswith("inverting 0\n")
        assert "ZeroDivisionError: division by zero" in row["output"]
        # The function came from the script (pickled by value): its frame names the script, not <dynamic-code>.
        assert 'File "/workspace/fail.py", line 6, in invert\n' in row["output"]


def test_a_key_cannot_start_a_line_of_its_own_in_the_log():
    from monitoring.task_output import log_lines

    assert log_lines("ex/M000/00003", "hi\n") == "[task M000/3] hi\n"
    assert log_lines("evil\n[system] fake", "hi") == "[task evil?[system] fake] hi\n"
