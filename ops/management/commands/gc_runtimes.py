from django.conf import settings
from django.core.management.base import BaseCommand

from ops import actions
from pyrun_web.audit.models import Via
from runtimes.models import Runtime


class Command(BaseCommand):
    help = (
        "Delete runtimes unused for PYRUN_RUNTIME_GC_DAYS (with their files) and orphaned build folders: the beat's "
        "runtimes.gc, now. Runtimes that are building are never deleted. Audited."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")

    def handle(self, *args, dry_run: bool, **options) -> None:
        days = settings.PYRUN_RUNTIME_GC_DAYS
        if dry_run:
            unused = Runtime.objects.unused_since(actions.gc_cutoff()).select_related("org").order_by("org", "pk")
            for runtime in unused:
                used = runtime.last_used_at or runtime.created_at
                self.stdout.write(
                    f"would delete runtime {runtime.pk} of {runtime.org.slug} (last used {used:%Y-%m-%d})"
                )
            self.stdout.write(f"{len(unused)} runtime(s) unused for {days} days")
            return
        deleted = actions.collect_garbage(by=None, via=Via.COMMAND)
        self.stdout.write(f"deleted {len(deleted)} runtime(s) unused for {days} days: {deleted or 'none'}")
