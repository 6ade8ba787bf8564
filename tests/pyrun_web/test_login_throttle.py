"""Login throttling behind a proxy: a stranger can neither lock a user out nor guess through many accounts.

Every test starts with the tenants (owner, member, viewer, outsider). The web process sits behind a reverse
proxy at 172.18.0.2 (the compose network): every request has that REMOTE_ADDR, and the client's address is the
last X-Forwarded-For entry, the one the proxy appended.
"""

from __future__ import annotations

import re
import secrets
import time

import pytest
from django.test import Client

from pyrun_web import login_throttle
from tests.tenants import PASSWORD, TenantTest

PROXY = "172.18.0.2"


def login(client: Client, username: str, password: str, client_address: str, *, url: str = "/login/", spoof=""):
    forwarded = f"{spoof}, {client_address}" if spoof else client_address
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded
    )


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def behind_proxy(settings):
    settings.PYRUN_BEHIND_PROXY = True


@pytest.mark.usefixtures("behind_proxy")
class TestBehindAProxy(TenantTest):
    def test_bad_logins_from_random_emails_leave_a_real_user_able_to_log_in(self):
        for i in range(6):
            response = login(Client(), f"{secrets.token_hex(4)}@example.com", "wrong", f"203.0.113.{i + 1}")
            assert response.status_code == 200
        client = Client()
        assert login(client, "member@example.com", PASSWORD, "198.51.100.7").status_code == 302
        assert logged_in(client)

    def test_one_noisy_client_does_not_lock_out_the_others_sharing_the_proxy(self):
        for _ in range(6):
            login(Client(), f"{secrets.token_hex(4)}@example.com", "wrong", "203.0.113.50")
        for _ in range(5):
            login(Client(), "viewer@example.com", "wrong", "203.0.113.50")
        assert login(Client(), "viewer@example.com", PASSWORD, "203.0.113.50").status_code == 429
        client = Client()
        assert login(client, "member@example.com", PASSWORD, "198.51.100.7").status_code == 302
        assert logged_in(client)

    def test_addresses_the_client_prepends_are_ignored(self):
        for i in range(5):
            response = login(Client(), "member@example.com", "wrong", "203.0.113.9", spoof=f"10.9.9.{i}")
            assert response.status_code == 200
        assert login(Client(), "member@example.com", PASSWORD, "203.0.113.9", spoof="10.9.9.99").status_code == 429

    def test_one_address_guessing_many_accounts_gets_429(self, settings):
        limit = settings.LOGIN_THROTTLE["address_failures"]
        for i in range(limit):
            response = login(Client(), f"user{i}@example.com", "wrong", "203.0.113.66")
            assert response.status_code == 200, i
        client = Client()
        refused = login(client, "member@example.com", PASSWORD, "203.0.113.66")
        assert refused.status_code == 429
        assert "Too many failed logins from your network address" in refused.content.decode()
        assert int(refused["Retry-After"]) > 0 and not logged_in(client)
        assert login(Client(), "viewer@example.com", PASSWORD, "198.51.100.8").status_code == 302

    def test_many_bad_logins_for_one_account_from_many_addresses_cost_the_user_a_short_delay_at_most(
        self, settings, monkeypatch
    ):
        # The throttle's clock is the test's: a delay must not run out while a slow machine gets to the next step.
        now = [time.time()]
        monkeypatch.setattr(login_throttle.time, "time", lambda: now[0])
        max_delay = settings.LOGIN_THROTTLE["max_delay_seconds"]
        # The member logged in from home once: that address is known to the account.
        assert login(Client(), "member@example.com", PASSWORD, "198.51.100.7").status_code == 302
        for i in range(15):  # a botnet: every attempt from a new address, none reaches a per-address limit
            response = login(Client(), "member@example.com", "wrong", f"203.0.113.{100 + i}")
            assert response.status_code == 200, i  # it waited out the delay of the one before
            now[0] += max_delay + 1
        # The last failure set the longest delay again.
        now[0] -= max_delay + 1
        # From home: no delay at all.
        client = Client()
        assert login(client, "member@example.com", PASSWORD, "198.51.100.7").status_code == 302
        assert logged_in(client)
        # From a new address: at most max_delay_seconds, then in.
        refused = login(Client(), "member@example.com", PASSWORD, "192.0.2.44")
        assert refused.status_code == 429
        assert "from elsewhere" in refused.content.decode()
        assert 0 < int(refused["Retry-After"]) <= max_delay
        now[0] += max_delay + 1
        client = Client()
        assert login(client, "member@example.com", PASSWORD, "192.0.2.44").status_code == 302
        assert logged_in(client)

    def test_a_refused_attempt_says_nothing_about_its_password(self):
        for _ in range(5):
            login(Client(), "member@example.com", "wrong", "203.0.113.9")
        right = login(Client(), "member@example.com", PASSWORD, "203.0.113.9")
        wrong = login(Client(), "member@example.com", "wrong", "203.0.113.9")
        assert right.status_code == wrong.status_code == 429

        def strip(body: bytes) -> bytes:
            return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)

        assert strip(right.content) == strip(wrong.content)

    def test_the_admin_login_locks_after_the_limit(self, settings):
        self.t.owner.is_staff = self.t.owner.is_superuser = True
        self.t.owner.save()
        assert login(Client(), "owner@example.com", PASSWORD, "198.51.100.7", url="/admin/login/").status_code == 302
        for _ in range(settings.LOGIN_THROTTLE["failures"]):
            response = login(Client(), "owner@example.com", "wrong", "203.0.113.20", url="/admin/login/")
            assert response.status_code == 200
            assert "correct email" in response.content.decode().lower()
        client = Client()
        locked = login(client, "owner@example.com", PASSWORD, "203.0.113.20", url="/admin/login/")
        assert locked.status_code == 429
        assert "Too many failed logins" in locked.content.decode()
        assert not logged_in(client)
        # The same counters as /login/: that client is locked there too; the admin still gets in from the
        # address they used before (a new address would wait a short delay, see the test above).
        assert login(Client(), "owner@example.com", PASSWORD, "203.0.113.20").status_code == 429
        client = Client()
        ok = login(client, "owner@example.com", PASSWORD, "198.51.100.7", url="/admin/login/?next=/admin/")
        assert ok.status_code == 302 and ok["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200


class TestWithoutAProxy(TenantTest):
    def test_x_forwarded_for_is_ignored_unless_behind_a_proxy(self):
        for i in range(5):
            login(Client(), "member@example.com", "wrong", f"203.0.113.{i + 1}")
        assert login(Client(), "member@example.com", PASSWORD, "198.51.100.7").status_code == 429

    def test_the_admin_login_page_still_renders(self):
        page = Client().get("/admin/login/")
        assert page.status_code == 200 and 'name="password"' in page.content.decode()


def test_client_address(rf, settings):
    settings.PYRUN_BEHIND_PROXY = True
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="1.2.3.4, 2001:db8:1:2:3:4:5:6")
    assert login_throttle.client_address(request) == "2001:db8:1:2::/64"
    assert login_throttle.client_address(rf.get("/", REMOTE_ADDR=PROXY)) == PROXY
    settings.PYRUN_BEHIND_PROXY = False
    assert login_throttle.client_address(request) == PROXY
