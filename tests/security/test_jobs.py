"""Real jobs through a real worker, as a hostile tenant writes them: a job cannot reach the platform's services,
fill the disk past its quota, or starve another org's job with a fork storm."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobs.conftest import logs_text, make_workspace, start_run, wait_for, wait_for_output
from tests.security.netns import PROBE, probe_results
from tests.security.sandboxes import needs_bwrap
from tests.tenants import TenantTest
from workspaces.services import create_workspace

pytestmark = [pytest.mark.slow, needs_bwrap]


class TestHostileJobs(TenantTest):
    def test_a_job_cannot_reach_redis_postgresql_or_the_web_port(self, jobs_worker):
        targets = "127.0.0.1:6379 127.0.0.1:5432 127.0.0.1:8000 10.0.2.2:6379"
        script = f"import sys\nsys.argv[1:] = {targets!r}.split()\n{PROBE}"
        workspace = make_workspace(self.t, {"probe.py": script})
        job = start_run(self.api("member"), workspace.pk, "probe.py")
        done = wait_for(self.api("member"), job["id"])
        output = logs_text(self.api("member"), job["id"], "stdout")
        assert done["state"] == "succeeded", logs_text(self.api("member"), job["id"])
        found = probe_results(output)
        assert len(found) == 4 and set(found.values()) == {"BLOCKED"}, output

    def test_writing_past_the_disk_quota_fails_the_job_with_the_quota_id(self, jobs_worker):
        org = self.t.org
        org.job_disk_bytes = 20 * 1024**2
        org.save(update_fields=["job_disk_bytes"])
        script = (
            "import os, time\n"
            "with open('big.bin', 'wb') as f:\n"
            "    for _ in range(80):\n"
            "        f.write(os.urandom(1024 * 1024)); f.flush(); time.sleep(0.05)\n"
            "print('wrote it all')\n"
        )
        workspace = make_workspace(self.t, {"fill.py": script})
        job = start_run(self.api("member"), workspace.pk, "fill.py")
        done = wait_for(self.api("member"), job["id"])
        assert done["state"] == "failed"
        assert done["error"]["id"] == "job:user:disk-quota", done["error"]
        assert "20 MiB" in done["error"]["message"]
        assert "wrote it all" not in logs_text(self.api("member"), job["id"], "stdout")

    def test_a_fork_storm_in_one_org_leaves_another_orgs_job_running(self, jobs_worker):
        other = self.t.other_org
        other.job_max_processes = 64
        other.save(update_fields=["job_max_processes"])
        steady_script = "import time\nfor i in range(40):\n    print('tick', i, flush=True)\n    time.sleep(0.1)\n"
        steady = make_workspace(self.t, {"steady.py": steady_script})
        bomb_script = (
            "import os, time\n"
            "children = 0\n"
            "try:\n"
            "    while True:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(30); os._exit(0)\n"
            "        children += 1\n"
            "except OSError as e:\n"
            "    print('stopped after', children, 'forks:', e, flush=True)\n"
            "    raise\n"
        )
        # The outsider owns the other org.
        bomb = create_workspace(org=other, user=self.t.outsider, name="Bomb", template="python")
        Path(bomb.path, "bomb.py").write_text(bomb_script)
        bomb_job = start_run(self.api("outsider"), bomb.pk, "bomb.py")
        wait_for_output(self.api("outsider"), bomb_job["id"], "stopped after")
        steady_job = start_run(self.api("member"), steady.pk, "steady.py")
        done = wait_for(self.api("member"), steady_job["id"])
        assert done["state"] == "succeeded", logs_text(self.api("member"), steady_job["id"])
        assert "tick 39" in logs_text(self.api("member"), steady_job["id"], "stdout")
        bomb_done = wait_for(self.api("outsider"), bomb_job["id"])
        assert bomb_done["state"] == "failed"
        assert bomb_done["error"]["id"] == "job:user:process-limit"
