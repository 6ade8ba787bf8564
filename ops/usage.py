"""An organisation's quotas next to what it uses of them now (the admin's organisation pages, ``quota``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from jobs.models import Job
from pyrun_web.tenancy.models import Organization
from pyrun_web.tenancy.services import QUOTA_FIELDS
from runtimes.services import build_seconds_this_month
from workspaces.models import Workspace

PEAK_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class QuotaUsage:
    name: str  # the Organization field
    label: str
    limit: int  # in effect: the org's override, else the platform default
    overridden: bool
    used: float | None  # None: not measured for this quota
    used_note: str  # what "used" means for this quota
    unit: str  # "count" | "seconds" | "bytes" | "minutes"

    def show(self, value: float | None) -> str:
        if value is None:
            return "-"
        if self.unit == "bytes":
            return filesizeformat(value)
        if self.unit == "seconds":
            return f"{value:.0f} s"
        if self.unit == "minutes":
            return f"{value:.1f} min"
        return f"{value:.0f}"

    @property
    def limit_display(self) -> str:
        if self.name == "max_build_minutes_per_month" and not self.limit:
            return "no limit"
        return self.show(self.limit)

    @property
    def used_display(self) -> str:
        return self.show(self.used)

    @property
    def percent(self) -> int | None:
        if self.used is None or not self.limit:
            return None
        return round(100 * self.used / self.limit)


LABELS = {
    "max_concurrent_jobs": ("concurrent jobs", "count", "jobs holding a slot now"),
    "max_job_seconds": ("max job duration", "seconds", "longest running job now"),
    "max_file_bytes": ("max file size", "bytes", ""),
    "max_workspace_bytes": ("workspace storage (each)", "bytes", "largest workspace"),
    "job_memory_bytes": ("job memory", "bytes", f"highest job peak in {PEAK_WINDOW.days} days"),
    "job_max_processes": ("job processes", "count", ""),
    "job_disk_bytes": ("job disk (working copy, /tmp, $HOME)", "bytes", ""),
    "max_build_minutes_per_month": ("build minutes per month", "minutes", "used this calendar month"),
}


def org_usage(org: Organization) -> list[QuotaUsage]:
    """Each quota of ``org`` with its effective limit and current use (one query per measured quota)."""
    now = timezone.now()
    jobs = Job.objects.for_org(org)
    started = jobs.started().order_by("started_at").values_list("started_at", flat=True).first()
    used: dict[str, float | None] = {
        "max_concurrent_jobs": jobs.holding_a_slot().count(),
        "max_job_seconds": (now - started).total_seconds() if started else 0,
        "max_file_bytes": None,
        "max_workspace_bytes": Workspace.objects.for_org(org).aggregate(m=Max("size"))["m"] or 0,
        "job_memory_bytes": jobs.filter(created_at__gte=now - PEAK_WINDOW).aggregate(m=Max("peak_rss_bytes"))["m"],
        "job_max_processes": None,
        "job_disk_bytes": None,
        "max_build_minutes_per_month": build_seconds_this_month(org, now) / 60,
    }
    limits = org.limits
    rows = []
    for name in QUOTA_FIELDS:
        label, unit, note = LABELS[name]
        rows.append(
            QuotaUsage(
                name=name,
                label=label,
                limit=getattr(limits, name),
                overridden=getattr(org, name) is not None,
                used=used[name],
                used_note=note,
                unit=unit,
            )
        )
    return rows


def build_minutes_used(org: Organization) -> float:
    return build_seconds_this_month(org) / 60


def jobs_holding_a_slot() -> Coalesce:
    """Per organisation (an annotation of an Organization queryset): its jobs counted against its concurrency
    quota, by ``JobQuerySet.holding_a_slot`` itself, in a subquery."""
    counts = Job.objects.filter(org=OuterRef("pk")).holding_a_slot().order_by().values("org").annotate(n=Count("id"))
    return Coalesce(Subquery(counts.values("n")), 0)
