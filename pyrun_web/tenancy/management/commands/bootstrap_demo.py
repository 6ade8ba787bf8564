"""First-start setup for `make up`: a demo org and owner (staff, so it opens the admin too)."""

import json
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from pyrun_web.tenancy.models import User
from pyrun_web.tenancy.services import create_tenant

DEMO_EMAIL = "demo@pyrun.local"
DEMO_ORG = "demo"


class Command(BaseCommand):
    help = "Create the demo org and user on first start; print the URL and how to log in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url: str, **options) -> None:
        credentials = settings.DATA_DIR / "secrets" / "demo-login.json"
        lines = [f"PyRun Web is at {url}"]
        if not User.objects.filter(email=DEMO_EMAIL).exists():
            password = secrets.token_urlsafe(12)
            _, user, key = create_tenant(DEMO_ORG, DEMO_EMAIL, password)
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
            credentials.parent.mkdir(mode=0o700, exist_ok=True)
            credentials.write_text(json.dumps({"email": DEMO_EMAIL, "password": password}))
            credentials.chmod(0o600)
            lines += [f"login: {DEMO_EMAIL} / {password}", f"API token (shown once): {key}"]
        elif credentials.exists():
            login = json.loads(credentials.read_text())
            lines += [
                f"login: {login['email']} / {login['password']}",
                "API token: shown at first start; create more under /api/v1/tokens/",
            ]
        self.stdout.write("\n".join(lines))
