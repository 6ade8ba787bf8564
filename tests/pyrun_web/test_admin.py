"""The operator console: every registered model's list, search and add pages render for a superuser."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.tenants import TenantTest


def registered_models():
    return [(m._meta.app_label, m._meta.model_name) for m in admin.site._registry]


class TestAdmin(TenantTest):
    @pytest.fixture(autouse=True)
    def _superuser(self, client, tenants):
        tenants.owner.is_staff = tenants.owner.is_superuser = True
        tenants.owner.save()
        client.force_login(tenants.owner)
        self.client = client

    @pytest.mark.parametrize(("app", "model"), registered_models())
    def test_changelist_with_search_renders(self, app, model):
        url = reverse(f"admin:{app}_{model}_changelist")
        assert self.client.get(url).status_code == 200
        assert self.client.get(url, {"q": "acme"}).status_code == 200

    def test_organisation_page_shows_members_and_quotas(self):
        page = self.client.get(reverse("admin:tenancy_organization_change", args=[self.t.org.pk]))
        html = page.content.decode()
        assert "viewer@example.com" in html
        assert "Quotas (empty = platform default)" in html

    def test_token_hashes_are_not_on_the_token_page(self):
        from pyrun_web.tenancy.models import ApiToken

        token = ApiToken.objects.get(user=self.t.member)
        html = self.client.get(reverse("admin:tenancy_apitoken_change", args=[token.pk])).content.decode()
        assert token.key_hash not in html

    def test_change_pages_of_the_operator_console_render(self):
        from jobs.models import Job
        from pyrun_web.audit.models import Action, AuditEntry, Via
        from pyrun_web.audit.services import record
        from pyrun_web.tenancy.models import CloudAccount, Membership
        from runtimes.models import Runtime
        from workspaces.services import create_workspace

        workspace = create_workspace(org=self.t.org, user=self.t.owner, name="Console", template="python")
        job = Job.objects.create(org=self.t.org, workspace=workspace, entrypoint="main.py", backend="lithops-localhost")
        runtime = Runtime.objects.create(org=self.t.org, spec_hash="c" * 64, kind="conda", state="ready")
        account = CloudAccount.objects.create(org=self.t.org, name="lab", region="eu-west-1", access_key_id="A" * 20,
                                              secret_access_key="S" * 40)  # fmt: skip
        entry = record(Action.QUOTA_CHANGED, actor=self.t.owner, via=Via.ADMIN, target=self.t.org)
        objects = [self.t.org, Membership.objects.filter(org=self.t.org).first(), workspace, job, runtime, account,
                   entry, self.t.owner]  # fmt: skip
        for obj in objects:
            url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
            assert self.client.get(url).status_code == 200, url
        assert AuditEntry.objects.count() == 1
