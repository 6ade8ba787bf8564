"""Server-rendered account pages: accepting an invitation (``/invitations/accept/<token>/``), password reset.

The invitee sets their own password (no account yet) or accepts while logged in as the invited email (an
existing account); the rules live in ``services``.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views import View

from pyrun_web.api.context import SESSION_ORG_KEY
from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import services
from pyrun_web.tenancy.models import User

TEMPLATE = "registration/invitation_accept.html"


class AcceptInvitationView(View):
    def dispatch(self, request, token: str):
        try:
            invitation = services.check_invitation(token)
        except PyrunError as error:
            return render(request, TEMPLATE, {"error": error.message}, status=error.status)
        self.invitation = invitation
        self.existing = User.objects.filter(email__iexact=invitation.email).first()
        user = request.user
        if user.is_authenticated and user.email.lower() != invitation.email:
            error = PyrunError("tenancy:user:invitation-other-account", email=invitation.email)
            return self.page(request, error=error.message, status=error.status, other_account=True)
        if self.existing is not None and not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, token)

    def page(self, request, status: int = 200, **context):
        context = {"invitation": self.invitation, "org": self.invitation.org, **context}
        return render(request, TEMPLATE, context, status=status)

    def get(self, request, token: str):
        if self.existing is not None:
            return self.page(request, join=True)
        return self.page(request, form=SetPasswordForm(User(email=self.invitation.email)))

    def post(self, request, token: str):
        try:
            if self.existing is not None:
                membership = services.accept_invitation(token, request.user)
            else:
                form = SetPasswordForm(User(email=self.invitation.email), request.POST)
                if not form.is_valid():
                    return self.page(request, form=form, status=400)
                user, membership = services.accept_invitation_with_new_account(
                    token, form.cleaned_data["new_password1"]
                )
                login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        except PyrunError as error:
            return render(request, TEMPLATE, {"error": error.message}, status=error.status)
        request.session[SESSION_ORG_KEY] = membership.org.slug
        return redirect("home")


RESET_MAILS_PER_HOUR = 3


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, also for active accounts that have no password yet (made by ``createtenant`` without one,
    or by an older version's member API): the mailbox owner sets the first one, so they can log in to accept an
    invitation. Accounts are all local here (no external identity provider owns a password)."""

    def get_users(self, email):
        return User.objects.filter(email__iexact=email.strip(), is_active=True)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's own reset view, with at most ``RESET_MAILS_PER_HOUR`` mails per address and hour, so nobody can flood
    someone's mailbox with it. The answer is the same whether a mail was sent or not (and whether the account
    exists)."""

    form_class = PasswordResetForm

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        key = f"password-reset:{hashlib.sha256(email.encode()).hexdigest()}"
        cache.add(key, 0, timeout=3600)
        try:
            sent = cache.incr(key)
        except ValueError:  # expired between add and incr
            sent = 1
        if sent > RESET_MAILS_PER_HOUR:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
