from django.core.management.base import BaseCommand

from pyrun_web.tenancy.services import create_tenant


class Command(BaseCommand):
    help = "Create (or reuse) an organisation with EMAIL as owner; the last line printed is a new API token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("org", help="organisation name (its slug is derived from it)")
        parser.add_argument("email", help="owner's email; the user is created when new")
        parser.add_argument("--password", help="password for a new user (else the account has none)")

    def handle(self, *args, org: str, email: str, password: str | None, **options) -> None:
        organization, user, key = create_tenant(org, email, password)
        self.stdout.write(f"organisation: {organization.slug}")
        self.stdout.write(f"owner: {user.email}")
        self.stdout.write(key)
