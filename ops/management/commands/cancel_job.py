from django.core.management.base import BaseCommand, CommandError

from jobs.models import Job
from ops import actions
from pyrun_web.audit.models import Via


class Command(BaseCommand):
    help = (
        "Cancel jobs by id (their worker kills them within a second); audited. --mark-failed fails them instead "
        "(job:platform:marked-failed), for a job whose worker is gone."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("job_ids", nargs="+", type=int, metavar="JOB_ID")
        parser.add_argument("--mark-failed", action="store_true", help="mark them failed instead of cancelled")

    def handle(self, *args, job_ids: list[int], mark_failed: bool, **options) -> None:
        jobs = {job.pk: job for job in Job.objects.filter(pk__in=job_ids).select_related("org")}
        missing = [job_id for job_id in job_ids if job_id not in jobs]
        for job_id in job_ids:
            job = jobs.get(job_id)
            if job is None:
                continue
            act = actions.mark_job_failed if mark_failed else actions.cancel_job
            if act(job, by=None, via=Via.COMMAND):
                self.stdout.write(f"job {job_id}: {job.state}")
            else:
                self.stdout.write(f"job {job_id}: had already ended ({job.state})")
        if missing:
            raise CommandError(f"no such job: {', '.join(map(str, missing))}")
