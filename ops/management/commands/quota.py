import re

from django.core.management.base import BaseCommand, CommandError

from ops.usage import org_usage
from pyrun_web.audit.models import Via
from pyrun_web.tenancy.models import Organization
from pyrun_web.tenancy.services import QUOTA_FIELDS, set_quotas

SIZE = re.compile(r"^(\d+)\s*([KMGT]i?B?)?$", re.IGNORECASE)
UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_value(name: str, text: str) -> int | None:
    """An integer, ``default`` (back to the platform default), or for ``*_bytes`` a size like ``512M``/``4GiB``."""
    if text.lower() == "default":
        return None
    match = SIZE.match(text.strip())
    if match is None or (match.group(2) and not name.endswith("_bytes")):
        expected = "a whole number or a size like 512M" if name.endswith("_bytes") else "a whole number"
        raise CommandError(f"{name}: {text!r} is not {expected}")
    return int(match.group(1)) * UNITS[(match.group(2) or "")[:1].upper()]


class Command(BaseCommand):
    help = (
        "Show an organisation's quotas and what it uses of them; with --set NAME=VALUE (VALUE: a number, a size "
        "like 4G for *_bytes, or 'default') change them. Changes apply from the next run and are audited. "
        f"Quotas: {', '.join(QUOTA_FIELDS)}."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("org", help="the organisation's slug")
        parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="changes")

    def handle(self, *args, org: str, changes: list[str], **options) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organisation with slug {org!r}")
        values: dict[str, int | None] = {}
        for change in changes:
            name, sep, text = change.partition("=")
            name = name.strip()
            if not sep or name not in QUOTA_FIELDS:
                raise CommandError(f"--set takes NAME=VALUE with NAME one of: {', '.join(QUOTA_FIELDS)}")
            values[name] = parse_value(name, text)
        if values:
            done = set_quotas(organization, values, by=None, via=Via.COMMAND)
            for name, (old, new) in done.items():
                self.stdout.write(f"{name}: {_show(old)} -> {_show(new)}")
            if not done:
                self.stdout.write("nothing changed")
        self.stdout.write(f"{organization.slug} ({organization.name})")
        for row in org_usage(organization):
            default = "" if row.overridden else " (default)"
            used = f"used {row.used_display} ({row.used_note})" if row.used is not None else ""
            self.stdout.write(f"  {row.name:30} {row.limit_display + default:24} {used}".rstrip())


def _show(value: int | None) -> str:
    return "default" if value is None else str(value)
