"""Invitations in a real browser (issue 16): an owner invites someone from the IDE's Members page and sees the link
once; the invitee, in a second browser context without any session, opens the link, chooses their own password and
lands in the IDE inside the org. Nobody ever sets another person's password. Revoking an invitation kills its link.

One screenshot per step goes to tmp/artifacts/e2e/<test>/ (PYRUN_E2E_ARTIFACTS to change it).
"""

from __future__ import annotations

import re

import httpx
import pytest

from pyrun_web.tenancy.services import create_organization, create_tenant, get_or_create_user
from tests.conftest import uvicorn_server, worker_env
from tests.e2e.test_ide_panels import in_thread

pytestmark = [pytest.mark.e2e]

OWNER = "inviter@example.com"
PASSWORD = "e2e invitations horse battery"
INVITEE = "new-person@example.com"
INVITEE_PASSWORD = "the invitee's own 7 secret words"


@pytest.fixture(scope="module")
def _module_server(django_db_setup, django_db_blocker, redis_server):
    with django_db_blocker.unblock():
        env = worker_env()
    with uvicorn_server(env) as url:
        yield url


@pytest.fixture
def live_server_url(_module_server, transactional_db):
    return _module_server


@pytest.fixture
def tenant(transactional_db):
    org, user, _ = create_tenant("Invite Lab", OWNER, PASSWORD)
    return org, user


@pytest.fixture
def page_errors():
    return []


def watch(page, errors: list[str]) -> None:
    """Collect a page's uncaught errors and console errors (asserted empty when the test ends)."""

    def on_console(message):
        if message.type != "error":
            return
        # The server-rendered pages name no icon: Chromium asks for /favicon.ico and logs its 404.
        if "Failed to load resource" in message.text and message.location.get("url", "").endswith("/favicon.ico"):
            return
        errors.append(f"console: {message.text} @ {message.location.get('url')}")

    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", on_console)


@pytest.fixture
def page(ide_page, artifacts, page_errors):
    watch(ide_page, page_errors)
    yield ide_page
    ide_page.screenshot(path=str(artifacts / "last.png"))
    assert page_errors == [], "errors in the page:\n" + "\n".join(page_errors)


@pytest.fixture
def guest(page, artifacts, page_errors):
    """A second browser context in the same browser: no cookies, no session (another person's machine)."""
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 720})
    guest = context.new_page()
    guest.set_default_timeout(60_000)
    watch(guest, page_errors)
    yield guest
    guest.screenshot(path=str(artifacts / "guest-last.png"))
    context.close()


@pytest.fixture
def shot(page, artifacts):
    step = iter(range(1, 100))

    def take(name: str, on=None) -> None:
        (on or page).screenshot(path=str(artifacts / f"{next(step):02d}-{name}.png"))

    return take


def login(page, url: str, email: str, password: str, next_url: str | None = None) -> None:
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(next_url or f"{url}/")


def invite(page, email: str, role: str) -> str:
    """Invite from the Members page; return the link shown once."""
    form = page.get_by_role("form", name="Invite member")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Role").select_option(role)
    form.get_by_role("button", name="Invite member").click()
    notice = page.get_by_role("alert", name="Invitation link")
    notice.get_by_text(re.compile(f"Invitation for {re.escape(email)}")).wait_for()
    assert "shown once" in notice.inner_text()
    assert "sent by email" in notice.inner_text()
    link = page.get_by_test_id("invitation-link").inner_text().strip()
    assert re.match(r"^https?://[^/]+/invitations/accept/[^/]+/$", link), link
    return link


def pending_row(page, email: str):
    return page.get_by_role("table", name="Pending invitations").locator("tbody tr", has_text=email)


def test_invite_accept_in_a_second_context_and_see_the_org(tenant, live_server_url, frontend_dist, page, guest, shot):
    org, _ = tenant
    login(page, live_server_url, OWNER, PASSWORD)
    page.get_by_role("heading", name=re.compile("Workspaces")).wait_for()
    page.goto(f"{live_server_url}/settings/members")
    page.get_by_role("heading", name="Members and roles").wait_for()
    page.get_by_text("No pending invitations.").wait_for()

    # The owner invites a member: the link is shown once, and the pending list names the invitation.
    link = invite(page, INVITEE, "member")
    row = pending_row(page, INVITEE)
    row.wait_for()
    assert "member" in row.inner_text()
    assert OWNER in row.inner_text()  # invited by
    shot("invited")
    page.get_by_role("alert", name="Invitation link").get_by_role("button", name="Copy").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    page.get_by_role("alert", name="Invitation link").get_by_role("button", name="Done").click()
    assert page.get_by_test_id("invitation-link").count() == 0
    page.reload()
    row.wait_for()
    assert link not in page.content()  # the list never shows the link again
    assert page.get_by_test_id("invitation-link").count() == 0

    # A second invitation, revoked: its row goes and its link is dead.
    revoked_link = invite(page, "changed-mind@example.com", "viewer")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke invitation of changed-mind@example.com").click()
    pending_row(page, "changed-mind@example.com").wait_for(state="detached")
    assert page.get_by_test_id("invitation-link").count() == 0  # the revoked link is not shown any more
    shot("revoked")
    dead = httpx.get(revoked_link, follow_redirects=True, timeout=30)
    assert dead.status_code >= 400
    assert "new_password1" not in dead.text

    # The invitee, in another browser context with no session, sets their own password and lands in the IDE.
    guest.goto(link)
    guest.get_by_text(re.compile("Invite Lab")).first.wait_for()
    shot("accept-page", on=guest)
    guest.fill("input[name=new_password1]", INVITEE_PASSWORD)
    guest.fill("input[name=new_password2]", INVITEE_PASSWORD)
    guest.click("button[type=submit]")
    guest.wait_for_url(f"{live_server_url}/")
    guest.get_by_role("heading", name="Workspaces · Invite Lab").wait_for()
    guest.get_by_text(INVITEE).first.wait_for()
    switcher = guest.get_by_label("Organisation")
    assert switcher.input_value() == org.slug
    assert "Invite Lab (member)" in switcher.inner_text()
    shot("invitee-in-the-ide", on=guest)

    # The link was single-use.
    again = httpx.get(link, follow_redirects=True, timeout=30)
    assert again.status_code >= 400
    assert "new_password1" not in again.text

    # The invitee's password is theirs: a fresh login with it works.
    fresh = httpx.Client(base_url=live_server_url, timeout=30, follow_redirects=False)
    fresh.get("/login/")
    answer = fresh.post(
        "/login/",
        data={"username": INVITEE, "password": INVITEE_PASSWORD, "csrfmiddlewaretoken": fresh.cookies["csrftoken"]},
        headers={"Referer": f"{live_server_url}/login/"},
    )
    assert answer.status_code == 302, answer.text[:500]

    # The owner's Members page lists them with their role; no invitation is pending any more.
    page.reload()
    role = page.get_by_label(f"Role of {INVITEE}")
    role.wait_for()
    assert role.input_value() == "member"
    page.get_by_text("No pending invitations.").wait_for()
    assert pending_row(page, INVITEE).count() == 0
    shot("member-joined")


def test_an_existing_user_logs_in_then_joins(tenant, live_server_url, frontend_dist, page, guest, shot):
    org, _ = tenant

    def existing_user():
        user, _ = get_or_create_user("has-account@example.com", PASSWORD)
        create_organization("Own Lab", user)

    in_thread(existing_user)
    login(page, live_server_url, OWNER, PASSWORD)
    page.goto(f"{live_server_url}/settings/members")
    link = invite(page, "has-account@example.com", "viewer")

    # Not logged in: the link asks them to log in first, then to join; nobody sets their password.
    guest.goto(link)
    guest.wait_for_url(re.compile(r"/login/"))
    guest.fill("input[name=username]", "has-account@example.com")
    guest.fill("input[name=password]", PASSWORD)
    guest.click("button[type=submit]")
    guest.wait_for_url(link)
    assert guest.locator("input[name=new_password1]").count() == 0
    shot("join-page", on=guest)
    guest.get_by_role("button", name=re.compile("Join")).click()
    guest.wait_for_url(f"{live_server_url}/")
    guest.get_by_role("heading", name="Workspaces · Invite Lab").wait_for()
    switcher = guest.get_by_label("Organisation")
    assert switcher.input_value() == org.slug
    assert "Own Lab" in switcher.inner_text()  # both of their orgs
    shot("joined", on=guest)

    page.reload()
    assert page.get_by_label("Role of has-account@example.com").input_value() == "viewer"
    page.get_by_text("No pending invitations.").wait_for()
