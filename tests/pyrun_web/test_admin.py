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
