"""The browser IDE is served from frontend/dist for / and its own routes, and swallows nothing else."""

import pytest
from django.test import Client

from tests.tenants import TenantTest


@pytest.fixture
def dist(settings, tmp_path):
    (tmp_path / "index.html").write_text('<!doctype html><div id="root"></div><script src="/static/x.js"></script>')
    settings.PYRUN_FRONTEND_DIST = tmp_path
    return tmp_path


class TestSpa(TenantTest):
    @pytest.mark.parametrize("path", ["/", "/w/12", "/w/12/", "/settings/tokens", "/pipelines", "/pipelines/x/y"])
    def test_spa_routes_serve_the_index_with_a_csrf_cookie(self, dist, path):
        client = Client()
        client.force_login(self.t.member)
        response = client.get(path)
        assert response.status_code == 200
        assert b'<div id="root">' in response.content
        assert response["Cache-Control"] == "no-cache"
        assert "csrftoken" in response.cookies

    def test_anonymous_is_sent_to_the_login_page(self, dist):
        response = Client().get("/w/3?tab=gantt")
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=/w/3")

    @pytest.mark.parametrize("path", ["/api/v1/nope/", "/admin/", "/static/nope.js", "/ws/jobs/1/", "/workspaces"])
    def test_other_prefixes_are_not_swallowed(self, dist, path):
        client = Client()
        client.force_login(self.t.owner)
        response = client.get(path)
        assert b'<div id="root">' not in response.content

    def test_a_missing_build_is_a_clear_503(self, settings, tmp_path):
        settings.PYRUN_FRONTEND_DIST = tmp_path / "missing"
        client = Client()
        client.force_login(self.t.member)
        response = client.get("/")
        assert response.status_code == 503
        assert b"make frontend" in response.content
