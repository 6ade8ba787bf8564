"""The admin pages of users, memberships, API tokens and invitations. Organisations and cloud accounts are
registered by ops (``ops.admin.tenancy``): their pages show usage and test connections, which need apps above
tenancy."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from pyrun_web.audit.models import Action, Via
from pyrun_web.audit.services import record
from pyrun_web.tenancy import services
from pyrun_web.tenancy.models import ApiToken, Invitation, Membership, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["email", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


def record_membership(action: Action, membership: Membership, request, **details) -> None:
    details = {"user": membership.user.email, "role": membership.role, **details}
    record(action, actor=request.user, via=Via.ADMIN, target=membership, org=membership.org, details=details)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "org", "role", "created_at"]
    list_filter = ["role", "org"]
    search_fields = ["user__email", "org__slug", "org__name"]
    autocomplete_fields = ["user", "org"]
    list_select_related = ["user", "org"]

    def save_model(self, request, obj: Membership, form, change: bool) -> None:
        old = Membership.objects.filter(pk=obj.pk).values_list("role", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        if not change:
            record_membership(Action.MEMBER_ADDED, obj, request)
        elif old != obj.role:
            record_membership(Action.MEMBER_ROLE_CHANGED, obj, request, role=[old, obj.role])

    def delete_model(self, request, obj: Membership) -> None:
        record_membership(Action.MEMBER_REMOVED, obj, request)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset.select_related("user", "org"):
            record_membership(Action.MEMBER_REMOVED, membership, request)
        super().delete_queryset(request, queryset)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "org", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["org", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__email", "org__slug"]
    list_select_related = ["user", "org"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are issued where they can be shown once: the API, the UI, createtenant

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: a revoked token stays listed, with its audit trail

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a token changes only by the revoke action (audited), not by editing dates or owners

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset) -> None:
        revoked = sum(services.revoke_token(token, by=request.user, via=Via.ADMIN) for token in queryset)
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "org", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = [
        "role",
        "org",
        ("accepted_at", admin.EmptyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["email", "org__slug", "invited_by__email"]
    list_select_related = ["org", "invited_by"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # invitations are made where their link can be shown once: the API and the IDE

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead (audited); a used or revoked invitation stays listed

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset) -> None:
        revoked = sum(services.revoke_invitation(i, by=request.user, via=Via.ADMIN) for i in queryset)
        self.message_user(request, f"Revoked {revoked} invitation(s).", messages.SUCCESS)
