from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from pyrun_web.tenancy.models import ApiToken, CloudAccount, Membership, Organization, User


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


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug"]}),
        (
            "Quotas (empty = platform default)",
            {
                "fields": [
                    "max_concurrent_jobs",
                    "max_job_seconds",
                    "max_file_bytes",
                    "max_workspace_bytes",
                    "job_memory_bytes",
                    "job_max_processes",
                ]
            },
        ),
    ]

    @admin.display(description="members")
    def member_count(self, org: Organization) -> int:
        return org.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "org", "role", "created_at"]
    list_filter = ["role", "org"]
    search_fields = ["user__email", "org__slug", "org__name"]
    autocomplete_fields = ["user", "org"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "org", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["org", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__email", "org__slug"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are issued where they can be shown once: the API, the UI, createtenant

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            token.revoke()
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)


class CloudAccountForm(forms.ModelForm):
    """Secret fields render empty; leaving one empty keeps the stored value."""

    SECRET_FIELDS = ("access_key_id", "secret_access_key", "external_id")
    access_key_id = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    external_id = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))

    class Meta:
        model = CloudAccount
        fields = [
            "org", "name", "auth_type", "region", "bucket", "access_key_id",
            "secret_access_key", "role_arn", "external_id", "created_by",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in self.SECRET_FIELDS:
            self.initial[name] = ""
            if self.instance.pk and getattr(self.instance, name):
                self.fields[name].help_text = "Set. Leave empty to keep the stored value."

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in self.SECRET_FIELDS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(CloudAccount)
class CloudAccountAdmin(admin.ModelAdmin):
    form = CloudAccountForm
    list_display = ["name", "org", "auth_type", "region", "bucket", "access_key_hint", "updated_at"]
    list_filter = ["auth_type", "region", "org"]
    search_fields = ["name", "org__slug", "bucket", "role_arn"]
    autocomplete_fields = ["org", "created_by"]
