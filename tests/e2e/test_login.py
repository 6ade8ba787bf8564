import pytest

from tests.tenants import PASSWORD

pytestmark = pytest.mark.e2e


def test_a_member_logs_in_and_sees_their_organisation(tenants, live_server_url, frontend_dist, page):
    page.goto(f"{live_server_url}/")
    assert page.url.startswith(f"{live_server_url}/login/")
    page.fill("input[name=username]", "member@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server_url}/")
    # The IDE (frontend/) loads and shows the org the session acts in, and who is logged in.
    page.get_by_role("heading", name="Workspaces · Acme Research").wait_for()
    page.get_by_text("member@example.com").wait_for()


def test_a_wrong_password_shows_an_error_and_stays_on_login(tenants, live_server_url, page):
    page.goto(f"{live_server_url}/login/")
    page.fill("input[name=username]", "member@example.com")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").is_visible()
    assert "/login/" in page.url
