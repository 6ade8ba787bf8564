from django.test import Client

from tests.tenants import PASSWORD, TenantTest


class TestLogin(TenantTest):
    def test_login_page_then_home_is_the_ide(self, settings, tmp_path):
        (tmp_path / "index.html").write_text('<div id="root"></div>')
        settings.PYRUN_FRONTEND_DIST = tmp_path
        client = Client(enforce_csrf_checks=True)
        page = client.get("/login/")
        assert page.status_code == 200
        assert "Log in" in page.content.decode()
        token = page.cookies["csrftoken"].value
        response = client.post(
            "/login/", {"username": "member@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302 and response["Location"] == "/"
        home = client.get("/")
        assert home.status_code == 200 and '<div id="root">' in home.content.decode()

    def test_login_without_csrf_is_refused(self):
        client = Client(enforce_csrf_checks=True)
        response = client.post("/login/", {"username": "member@example.com", "password": PASSWORD})
        assert response.status_code == 403

    def test_repeated_failures_lock_the_account(self):
        client = Client()
        for _ in range(5):
            assert client.post("/login/", {"username": "member@example.com", "password": "wrong"}).status_code == 200
        locked = client.post("/login/", {"username": "member@example.com", "password": PASSWORD})
        assert locked.status_code == 429
        assert "Too many failed logins" in locked.content.decode()
        assert "_auth_user_id" not in client.session

    def test_logout_ends_the_session(self, settings, tmp_path):
        (tmp_path / "index.html").write_text("ide")
        settings.PYRUN_FRONTEND_DIST = tmp_path
        client = Client()
        client.force_login(self.t.member)
        assert client.get("/").status_code == 200
        client.post("/logout/")
        assert client.get("/").status_code == 302
