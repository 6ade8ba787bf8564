"""The whole output of a run as a text file (`GET /api/v1/jobs/{id}/export/log/`), what the IDE's Output panel
links to as Download: every chunk in order, however many the browser dropped, and 404 for another org."""

from __future__ import annotations

from jobs.models import JobState, LogChunk
from tests.jobs.test_api import make_job
from tests.tenants import TenantTest


class TestLogDownload(TenantTest):
    def test_the_whole_output_downloads_as_a_text_file_in_seq_order(self):
        job = make_job(self.t, state=JobState.SUCCEEDED)
        # Written out of order, as a bulk insert may: the file follows seq.
        LogChunk.objects.bulk_create(
            LogChunk(job=job, seq=n, stream="stderr" if n == 3 else "stdout", text=f"line {n}\n")
            for n in (2, 1, 1200, *range(3, 1200))
        )
        response = self.api("viewer").get(f"/api/v1/jobs/{job.pk}/export/log/", HTTP_ACCEPT="text/plain")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["Content-Disposition"] == f'attachment; filename="job-{job.pk}-output.log"'
        body = b"".join(response.streaming_content).decode()
        assert body == "".join(f"line {n}\n" for n in range(1, 1201))

    def test_another_orgs_job_log_is_404(self):
        job = make_job(self.t, state=JobState.SUCCEEDED)
        LogChunk.objects.create(job=job, seq=1, stream="stdout", text="secret\n")
        response = self.api("outsider").get(f"/api/v1/jobs/{job.pk}/export/log/")
        assert response.status_code == 404
        assert b"secret" not in response.content

    def test_a_line_cut_by_another_streams_lines_reads_as_the_output_panel_shows_it(self):
        job = make_job(self.t, state=JobState.FAILED)
        # An unbuffered print writes "starting" and its newline apart; the traceback came in between.
        written = [
            ("stdout", "starting"),
            ("stderr", "Traceback\nValueError: bad\n"),
            ("stdout", "\n"),
            ("stdout", "half"),
            ("stderr", "warn\n"),
            ("stdout", " more\n"),
            ("system", "== exited\n"),
        ]
        LogChunk.objects.bulk_create(
            LogChunk(job=job, seq=n, stream=stream, text=text) for n, (stream, text) in enumerate(written, 1)
        )
        response = self.api("viewer").get(f"/api/v1/jobs/{job.pk}/export/log/")
        body = b"".join(response.streaming_content).decode()
        assert body == "starting\nTraceback\nValueError: bad\nhalf\nwarn\n more\n== exited\n"
