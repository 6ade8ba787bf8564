"""Housekeeping: runtimes nobody used for a while go (row and files), so do folders no row explains, and
builds whose worker died are failed."""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from runtimes import layout
from runtimes.models import Runtime

logger = logging.getLogger(__name__)

# A build folder younger than this may belong to a build whose row is not committed yet: leave it alone.
ORPHAN_GRACE = timedelta(hours=1)


def collect_garbage(now=None) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PYRUN_RUNTIME_GC_DAYS)
    deleted = 0
    for runtime in Runtime.objects.unused_since(cutoff).iterator():
        # Re-checked in the DELETE itself: a build requested meanwhile keeps its row.
        count, _ = Runtime.objects.unused_since(cutoff).filter(pk=runtime.pk).delete()
        deleted += bool(count)
    remove_orphans(now)
    if deleted:
        logger.info("deleted %d runtime(s) unused since %s", deleted, cutoff)
    return deleted


def remove_orphans(now=None) -> None:
    """Build folders and contexts of runtimes that no longer exist, and stray builds of idle runtimes."""
    now = now or timezone.now()
    rows = {r.pk: r for r in Runtime.objects.only("pk", "state", "extra", "org_id", "spec_hash")}
    for folder in (layout.builds_root(), layout.context_dir(0).parent):
        with contextlib.suppress(FileNotFoundError):
            for path in folder.iterdir():
                match = re.match(r"(\d+)(-|$)", path.name)
                if match is None or _young(path, now):
                    continue
                runtime = rows.get(int(match.group(1)))
                superseded = (
                    runtime is not None
                    and folder == layout.builds_root()
                    and not runtime.is_active
                    and path != runtime.build_dir
                )
                if runtime is None or superseded:
                    layout.remove_tree(path)


def _young(path, now) -> bool:
    try:
        return path.lstat().st_mtime > (now - ORPHAN_GRACE).timestamp()
    except FileNotFoundError:
        return True


def reap_lost_builds() -> int:
    return Runtime.objects.reap_stale()
