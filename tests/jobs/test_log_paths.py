"""A job's log names its runtime, never the runtime's folder on the host: the script's own output (even a path
split across two pipe reads), the lines of the runtime's build, and the platform's lines."""

from __future__ import annotations

import pytest

from jobs.joblog import _path_start_at_end
from runtimes.models import Runtime
from tests.jobs.conftest import make_workspace, read_logs, start_run, wait_for
from tests.tenants import TenantTest

pytestmark = pytest.mark.slow

SCRIPT = """\
import sys, time, json
print("interpreter:", sys.executable, flush=True)
print("stderr interpreter:", sys.executable, file=sys.stderr, flush=True)
# Half a path, a pause, the rest: two reads of the pipe.
half = len(sys.executable) // 2
sys.stdout.write("split: " + sys.executable[:half])
sys.stdout.flush()
time.sleep(0.5)
sys.stdout.write(sys.executable[half:] + " end\\n")
sys.stdout.flush()
json.loads("{not json")
"""


class TestLogPaths(TenantTest):
    def test_the_log_names_the_runtime_not_its_host_folder(self, jobs_worker):
        workspace = make_workspace(self.t, {"paths.py": SCRIPT})
        job = start_run(self.api("member"), workspace.pk, "paths.py")
        done = wait_for(self.api("viewer"), job["id"])
        assert done["state"] == "failed"  # the traceback at the end
        runtime = Runtime.objects.get(pk=done["runtime"])
        folders = [runtime.prefix, str(runtime.build_dir)]
        name = f"<runtime {runtime.pk}>"

        chunks, _ = read_logs(self.api("viewer"), job["id"])
        text = {stream: "".join(c["text"] for c in chunks if c["stream"] == stream) for stream in ("stdout", "stderr")}
        everything = "".join(c["text"] for c in chunks)
        assert "/runtimes/builds/" not in everything and "/runtimes/envs/" not in everything
        assert not any(folder in everything for folder in folders)
        # Still honest: the user sees which interpreter ran.
        assert f"interpreter: {name}/bin/python\n" in text["stdout"]
        assert f"split: {name}/bin/python end\n" in text["stdout"]
        assert f"stderr interpreter: {name}/bin/python\n" in text["stderr"]
        assert "json.decoder.JSONDecodeError" in text["stderr"]
        # The job's error text (from the end of stderr) is written without the folder too.
        assert not any(folder in done["error"]["message"] for folder in folders)


def test_only_the_start_of_a_path_at_the_very_end_is_held_back():
    names = [("/data/runtimes/builds/1-45eb2578", "<runtime 1>")]
    assert _path_start_at_end("a line\n", names) == len("a line\n")
    assert _path_start_at_end("at /data/runt", names) == 3
    assert _path_start_at_end("x /", names) == 2
    # A whole path is replaced at once; a "/" that is no path's start is written.
    whole = "at /data/runtimes/builds/1-45eb2578"
    assert _path_start_at_end(whole, names) == len(whole)
    assert _path_start_at_end("a/b", names) == 3
