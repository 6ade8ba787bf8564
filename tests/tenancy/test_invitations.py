"""Members join by invitation: an expiring, single-use link; the invitee sets their own password or accepts while
logged in as the invited email. Nobody ever sets another person's password (issue 16, account pre-hijack)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pyrun_web.audit.models import Action, AuditEntry
from pyrun_web.tenancy.models import Invitation, Membership, User
from pyrun_web.tenancy.pages import RESET_MAILS_PER_HOUR
from tests.tenants import PASSWORD, TenantTest

CAROL = "carol@bigcorp.example"
CAROL_PASSWORD = "carols own secret 42"
ATTACKER_PASSWORD = "attacker knows this 1"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the invitation mail) as a real commit would."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


class InvitationTest(TenantTest):
    @pytest.fixture(autouse=True)
    def _commit(self, commit) -> None:
        self.commit = commit

    def invite(self, who: str, email: str, role: str = "member", url: str = "/api/v1/invitations/", **extra):
        return self.commit(lambda: self.api(who).post(url, {"email": email, "role": role, **extra}))

    def accept_new_account(self, link: str, password: str, client: Client | None = None):
        client = client or Client()
        page = client.get(path_of(link))
        response = client.post(path_of(link), {"new_password1": password, "new_password2": password})
        return client, page, response


class TestApi(InvitationTest):
    def test_create_answers_the_link_once_and_mails_it(self, mailoutbox):
        response = self.invite("admin", "New@Example.com", "viewer")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert set(body) == {"id", "email", "role", "invited_by", "created_at", "expires_at", "accept_url"}
        assert body["email"] == "new@example.com" and body["role"] == "viewer"
        assert body["invited_by"] == {"id": self.t.admin.id, "email": "admin@example.com"}
        assert body["accept_url"].startswith("http://testserver/invitations/accept/")
        # The mail carries the same link; only a hash of its token is stored.
        assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new@example.com"]
        assert body["accept_url"] in mailoutbox[0].body and "Acme Research" in mailoutbox[0].subject
        token = body["accept_url"].rstrip("/").rsplit("/", 1)[1]
        assert not Invitation.objects.filter(token_hash=token).exists()
        # Nobody has an account or a membership yet.
        assert not User.objects.filter(email="new@example.com").exists()
        # The list shows it, without the link.
        listed = self.api("owner").get("/api/v1/invitations/").json()["results"]
        assert [i["id"] for i in listed] == [body["id"]] and "accept_url" not in listed[0]
        assert self.api("owner").get(f"/api/v1/invitations/{body['id']}/").json()["email"] == "new@example.com"
        entry = AuditEntry.objects.get(action=Action.MEMBER_INVITED)
        assert entry.actor == self.t.admin and token not in str(entry.details)

    def test_members_post_is_an_invitation_too(self, mailoutbox):
        response = self.invite("admin", "new@example.com", url="/api/v1/members/")
        assert response.status_code == 201, response.json()
        assert {"id", "email", "role", "accept_url"} <= set(response.json())
        assert Invitation.objects.get(pk=response.json()["id"]).org == self.t.org
        assert not User.objects.filter(email="new@example.com").exists() and len(mailoutbox) == 1

    @pytest.mark.parametrize("url", ["/api/v1/invitations/", "/api/v1/members/"])
    def test_a_password_cannot_be_given(self, url):
        response = self.invite("admin", CAROL, url=url, password=ATTACKER_PASSWORD)
        assert response.status_code == 400
        assert "password" in response.json()["error"]["fields"]
        assert not Invitation.objects.exists() and not User.objects.filter(email=CAROL).exists()

    @pytest.mark.parametrize("who", ["member", "viewer"])
    def test_only_admins_invite_list_and_revoke(self, who):
        invitation = self.invite("admin", "new@example.com").json()
        for response in (
            self.invite(who, "x@example.com"),
            self.api(who).get("/api/v1/invitations/"),
            self.api(who).delete(f"/api/v1/invitations/{invitation['id']}/"),
        ):
            assert response.status_code == 403
            assert response.json()["error"]["id"] == "auth:user:role-required"

    def test_owner_role_only_by_an_owner(self):
        response = self.invite("admin", "boss@example.com", "owner")
        assert response.status_code == 403
        assert response.json()["error"]["id"] == "tenancy:user:owner-only"
        assert self.invite("owner", "boss@example.com", "owner").status_code == 201

    def test_inviting_a_member_is_a_conflict(self):
        response = self.invite("admin", "Member@Example.com")
        assert response.status_code == 409
        assert response.json()["error"]["id"] == "tenancy:user:already-member"

    def test_another_orgs_invitation_is_404(self):
        theirs = self.invite("outsider", "x@example.com").json()
        assert self.api("owner").get(f"/api/v1/invitations/{theirs['id']}/").status_code == 404
        assert self.api("owner").delete(f"/api/v1/invitations/{theirs['id']}/").status_code == 404
        assert self.api("owner").get("/api/v1/invitations/").json()["results"] == []
        assert Invitation.objects.get(pk=theirs["id"]).status == Invitation.Status.PENDING

    def test_revoke(self):
        body = self.invite("admin", "new@example.com").json()
        assert self.api("admin").delete(f"/api/v1/invitations/{body['id']}/").status_code == 204
        assert self.api("admin").get("/api/v1/invitations/").json()["results"] == []
        assert AuditEntry.objects.filter(action=Action.INVITATION_REVOKED).count() == 1
        response = Client().get(path_of(body["accept_url"]))
        assert response.status_code == 410 and "revoked" in response.content.decode()

    def test_inviting_again_replaces_the_pending_link(self):
        first = self.invite("admin", "new@example.com").json()
        second = self.invite("admin", "new@example.com").json()
        assert Client().get(path_of(first["accept_url"])).status_code == 410
        assert Client().get(path_of(second["accept_url"])).status_code == 200
        assert [i["id"] for i in self.api("admin").get("/api/v1/invitations/").json()["results"]] == [second["id"]]


class TestPreHijack(InvitationTest):
    def test_the_pre_hijack_sequence_fails(self, mailoutbox):
        # The attacker (outsider) "invites" Carol into their own org, trying to choose her password.
        attempt = self.invite("outsider", CAROL, password=ATTACKER_PASSWORD)
        assert attempt.status_code == 400
        planted = self.invite("outsider", CAROL, "owner")
        assert planted.status_code == 201
        assert not User.objects.filter(email=CAROL).exists()  # no account exists before Carol makes one
        # BigCorp (the first org) invites Carol; she accepts its link and chooses her own password.
        link = self.invite("admin", CAROL).json()["accept_url"]
        assert link in mailoutbox[-1].body
        carol_client, page, response = self.accept_new_account(link, CAROL_PASSWORD)
        assert page.status_code == 200 and "Choose a password" in page.content.decode()
        assert response.status_code == 302 and response["Location"] == "/"
        carol = User.objects.get(email=CAROL)
        assert carol.check_password(CAROL_PASSWORD)
        # The attacker cannot log in as Carol with any password they chose.
        for guess in (ATTACKER_PASSWORD, PASSWORD, ""):
            assert not Client().login(username=CAROL, password=guess)
        assert Client().login(username=CAROL, password=CAROL_PASSWORD)
        # Carol is in BigCorp, not in the attacker's org.
        assert set(Membership.objects.filter(user=carol).values_list("org", flat=True)) == {self.t.org.pk}
        assert carol_client.get("/api/v1/me/").json()["org"]["id"] == self.t.org.pk
        # The attacker's link, opened by someone else while logged out, asks to log in as Carol: no new account.
        response = Client().get(path_of(planted.json()["accept_url"]))
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=/invitations/accept/")
        response = Client().post(
            path_of(planted.json()["accept_url"]), {"new_password1": "x" * 20, "new_password2": "x" * 20}
        )
        assert response.status_code == 302 and response["Location"].startswith("/login/")
        assert carol.memberships.count() == 1
        # Only if Carol herself accepts it does she join the other org.
        carol_client.post(path_of(planted.json()["accept_url"]))
        assert set(Membership.objects.filter(user=carol).values_list("org", flat=True)) == {
            self.t.org.pk,
            self.t.other_org.pk,
        }

    def test_an_inviter_who_opens_their_own_link_gains_nothing_outside_their_org(self, mailoutbox):
        # The link is shown to the inviter too: the attacker opens it and makes "Carol" with a password they know.
        planted = self.invite("outsider", CAROL).json()["accept_url"]
        attacker, _, response = self.accept_new_account(planted, ATTACKER_PASSWORD)
        assert response.status_code == 302
        # BigCorp invites Carol: the attacker, logged in as "Carol", has no BigCorp link (mailed to Carol only).
        bigcorp_link = path_of(self.invite("admin", CAROL).json()["accept_url"])
        assert bigcorp_link not in path_of(planted)
        assert attacker.get("/api/v1/orgs/").json()["results"][0]["id"] == self.t.other_org.pk
        assert len(attacker.get("/api/v1/orgs/").json()["results"]) == 1
        # Carol cannot log in with a password she never chose: she takes her account back by mail.
        carol = Client()
        assert carol.get(bigcorp_link)["Location"].startswith("/login/")
        carol.post("/accounts/password-reset/", {"email": CAROL})
        reset = re.search(r"http://testserver(/accounts/password-reset/\S+/\S+/)", mailoutbox[-1].body).group(1)
        form = carol.get(reset, follow=True)
        data = {"new_password1": CAROL_PASSWORD, "new_password2": CAROL_PASSWORD}
        assert carol.post(form.redirect_chain[-1][0], data).status_code == 302
        assert carol.login(username=CAROL, password=CAROL_PASSWORD)
        assert carol.post(bigcorp_link).status_code == 302
        # The attacker's session and password are dead; BigCorp is Carol's alone.
        assert attacker.get("/api/v1/orgs/").status_code in (401, 403)
        assert not Client().login(username=CAROL, password=ATTACKER_PASSWORD)
        assert self.t.org.pk in [o["id"] for o in carol.get("/api/v1/orgs/").json()["results"]]


class TestAcceptPage(InvitationTest):
    def test_new_account_sets_own_password_logs_in_and_lands_in_the_org(self):
        link = self.invite("admin", "new@example.com", "viewer").json()["accept_url"]
        client, page, response = self.accept_new_account(link, "my very own pass 9")
        assert "Join Acme Research" in page.content.decode() and "new@example.com" in page.content.decode()
        assert response.status_code == 302 and response["Location"] == "/"
        me = client.get("/api/v1/me/").json()
        assert (me["user"]["email"], me["org"]["id"], me["role"]) == ("new@example.com", self.t.org.pk, "viewer")
        invitation = Invitation.objects.get()
        assert invitation.status == Invitation.Status.ACCEPTED and invitation.accepted_by.email == "new@example.com"
        added = AuditEntry.objects.get(action=Action.MEMBER_ADDED)
        assert added.details["invited_by"] == "admin@example.com" and added.details["role"] == "viewer"

    def test_password_validators_apply(self):
        link = self.invite("admin", "new@example.com").json()["accept_url"]
        _, _, response = self.accept_new_account(link, "password")
        assert response.status_code == 400
        assert "too common" in response.content.decode() or "too short" in response.content.decode()
        assert not User.objects.filter(email="new@example.com").exists()
        mismatch = Client().post(path_of(link), {"new_password1": "long enough pass 1", "new_password2": "other"})
        assert mismatch.status_code == 400
        assert Invitation.objects.get().status == Invitation.Status.PENDING

    def test_the_link_is_single_use(self):
        link = self.invite("admin", "new@example.com").json()["accept_url"]
        self.accept_new_account(link, "my very own pass 9")
        again = Client().get(path_of(link))
        assert again.status_code == 410 and "no longer valid" in again.content.decode()
        data = {"new_password1": "another pass 1234", "new_password2": "another pass 1234"}
        post = Client().post(path_of(link), data)
        assert post.status_code == 410
        assert User.objects.get(email="new@example.com").check_password("my very own pass 9")

    def test_expired(self):
        link = self.invite("admin", "new@example.com").json()["accept_url"]
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        response = Client().get(path_of(link))
        assert response.status_code == 410 and "expired" in response.content.decode()
        _, _, post = self.accept_new_account(link, "my very own pass 9")
        assert post.status_code == 410 and not User.objects.filter(email="new@example.com").exists()
        assert self.api("admin").get("/api/v1/invitations/").json()["results"] == []

    def test_expiry_follows_the_setting(self, settings):
        settings.PYRUN_INVITATION_DAYS = 2
        body = self.invite("admin", "new@example.com").json()
        invitation = Invitation.objects.get(pk=body["id"])
        assert abs((invitation.expires_at - invitation.created_at) - timedelta(days=2)) < timedelta(seconds=5)

    @pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 300])
    def test_unknown_link_is_404(self, token):
        response = Client().get(f"/invitations/accept/{token}/")
        assert response.status_code == 404 and "not valid" in response.content.decode()

    def test_existing_user_logs_in_as_that_email_then_joins(self):
        # The outsider has an account already; Acme invites them.
        link = path_of(self.invite("admin", "outsider@example.com", "member").json()["accept_url"])
        client = Client()
        response = client.get(link)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={link}"
        login = client.post("/login/", {"username": "outsider@example.com", "password": PASSWORD, "next": link})
        assert login.status_code == 302 and login["Location"] == link
        page = client.get(link)
        assert page.status_code == 200 and "Join Acme Research as member" in page.content.decode()
        assert "new_password1" not in page.content.decode()
        assert not Membership.objects.filter(org=self.t.org, user=self.t.outsider).exists()  # consent first
        response = client.post(link)
        assert response.status_code == 302 and response["Location"] == "/"
        assert Membership.objects.get(org=self.t.org, user=self.t.outsider).role == "member"
        assert self.t.outsider.memberships.count() == 2
        assert client.get("/api/v1/me/").json()["org"]["id"] == self.t.org.pk

    def test_logged_in_as_someone_else(self):
        link = path_of(self.invite("admin", "outsider@example.com").json()["accept_url"])
        client = Client()
        client.force_login(self.t.member)
        page = client.get(link)
        assert page.status_code == 403 and "for outsider@example.com" in page.content.decode()
        assert client.post(link).status_code == 403
        assert not Membership.objects.filter(org=self.t.org, user=self.t.outsider).exists()
        # A new-account invitation cannot be taken over by a logged-in user either.
        new_link = path_of(self.invite("admin", "new@example.com").json()["accept_url"])
        assert client.get(new_link).status_code == 403
        post = client.post(new_link, {"new_password1": "my very own pass 9", "new_password2": "my very own pass 9"})
        assert post.status_code == 403 and not User.objects.filter(email="new@example.com").exists()

    def test_the_accept_form_needs_csrf(self):
        link = path_of(self.invite("admin", "new@example.com").json()["accept_url"])
        client = Client(enforce_csrf_checks=True)
        page = client.get(link)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
        data = {"new_password1": "my very own pass 9", "new_password2": "my very own pass 9"}
        assert client.post(link, data).status_code == 403
        assert client.post(link, {**data, "csrfmiddlewaretoken": token}).status_code == 302


class TestPasswordReset(TenantTest):
    def test_login_page_links_to_it(self):
        assert 'href="/accounts/password-reset/"' in Client().get("/login/").content.decode()

    def test_reset_by_mail(self, mailoutbox):
        client = Client()
        assert client.get("/accounts/password-reset/").status_code == 200
        response = client.post("/accounts/password-reset/", {"email": "member@example.com"})
        assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
        assert len(mailoutbox) == 1 and mailoutbox[0].to == ["member@example.com"]
        link = re.search(r"http://testserver(/accounts/password-reset/\S+/\S+/)", mailoutbox[0].body).group(1)
        form = client.get(link, follow=True)
        assert form.status_code == 200 and "new_password1" in form.content.decode()
        done = client.post(
            form.redirect_chain[-1][0] if form.redirect_chain else link,
            {"new_password1": "a brand new pass 7", "new_password2": "a brand new pass 7"},
        )
        assert done.status_code == 302 and done["Location"] == "/accounts/password-reset/done/"
        assert Client().login(username="member@example.com", password="a brand new pass 7")
        # The link is single use.
        assert "not valid" in client.get(link, follow=True).content.decode()

    def test_unknown_email_sends_nothing_and_says_the_same(self, mailoutbox):
        response = Client().post("/accounts/password-reset/", {"email": "nobody@example.com"})
        assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
        assert mailoutbox == []

    def test_reset_mails_to_one_address_are_limited(self, mailoutbox):
        for _ in range(5):
            response = Client().post("/accounts/password-reset/", {"email": "Member@Example.com"})
            assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
        assert len(mailoutbox) == RESET_MAILS_PER_HOUR
        Client().post("/accounts/password-reset/", {"email": "viewer@example.com"})
        assert mailoutbox[-1].to == ["viewer@example.com"]

    def test_an_account_without_a_password_can_set_its_first_one(self, mailoutbox):
        # E.g. created by createtenant without --password: invited elsewhere, its owner must be able to log in.
        self.t.viewer.set_unusable_password()
        self.t.viewer.save()
        Client().post("/accounts/password-reset/", {"email": "viewer@example.com"})
        assert len(mailoutbox) == 1
        link = re.search(r"http://testserver(/accounts/password-reset/\S+/\S+/)", mailoutbox[0].body).group(1)
        client = Client()
        form = client.get(link, follow=True)
        data = {"new_password1": "first pass of mine 3", "new_password2": "first pass of mine 3"}
        assert client.post(form.redirect_chain[-1][0], data).status_code == 302
        assert Client().login(username="viewer@example.com", password="first pass of mine 3")

    def test_inactive_accounts_get_no_mail(self, mailoutbox):
        User.objects.filter(pk=self.t.viewer.pk).update(is_active=False)
        Client().post("/accounts/password-reset/", {"email": "viewer@example.com"})
        assert mailoutbox == []


class TestAdmin(InvitationTest):
    def test_operators_list_and_revoke_never_see_a_token(self, client):
        body = self.invite("admin", "new@example.com").json()
        staff = self.t.owner
        staff.is_staff = staff.is_superuser = True
        staff.save()
        client.force_login(staff)
        url = reverse("admin:tenancy_invitation_changelist")
        page = client.get(url).content.decode()
        assert "new@example.com" in page and Invitation.objects.get().token_hash not in page
        detail = client.get(reverse("admin:tenancy_invitation_change", args=[body["id"]])).content.decode()
        assert Invitation.objects.get().token_hash not in detail
        response = client.post(url, {"action": "revoke", "_selected_action": [body["id"]]}, follow=True)
        assert "Revoked 1 invitation(s)." in response.content.decode()
        entry = AuditEntry.objects.get(action=Action.INVITATION_REVOKED)
        assert (entry.actor, entry.via) == (staff, "admin")
        assert Client().get(path_of(body["accept_url"])).status_code == 410
