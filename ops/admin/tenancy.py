"""The admin pages of organisations and cloud accounts, registered by ops because they need it: an organisation's
usage against its quotas (``ops.usage``, which reads jobs, runtimes and workspaces) and the connection test of a
cloud account (``ops.cloud``). Users, memberships, tokens and invitations are in ``pyrun_web.tenancy.admin``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from ops.cloud import check_connection
from ops.usage import build_minutes_used, jobs_holding_a_slot, org_usage
from pyrun_web.audit.models import Action, Via
from pyrun_web.audit.services import record
from pyrun_web.tenancy import services
from pyrun_web.tenancy.admin import record_membership
from pyrun_web.tenancy.models import CloudAccount, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "jobs_now", "storage", "build_minutes", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    readonly_fields = ["usage"]
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
                    "job_disk_bytes",
                    "max_build_minutes_per_month",
                ]
            },
        ),
        ("Usage against the quotas", {"fields": ["usage"]}),
    ]

    def get_queryset(self, request):
        # Counted in the list's one query: members (a join), jobs holding a concurrency slot and workspace bytes
        # (subqueries: summing over more joins would multiply them).
        storage = (
            Organization.objects.filter(pk=OuterRef("pk"))
            .annotate(total=Coalesce(Sum("workspaces__size"), 0))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=Count("memberships"),
                _slots=jobs_holding_a_slot(),
                _storage=Subquery(storage),
            )
        )

    @admin.display(description="members", ordering="_members")
    def member_count(self, org: Organization) -> int:
        return getattr(org, "_members", None) or org.memberships.count()

    @admin.display(description="jobs now / limit", ordering="_slots")
    def jobs_now(self, org: Organization) -> str:
        return f"{getattr(org, '_slots', 0)} / {org.limits.max_concurrent_jobs}"

    @admin.display(description="workspace storage", ordering="_storage")
    def storage(self, org: Organization) -> str:
        return filesizeformat(getattr(org, "_storage", 0) or 0)

    @admin.display(description="build min this month / limit")
    def build_minutes(self, org: Organization) -> str:
        limit = org.limits.max_build_minutes_per_month
        return f"{build_minutes_used(org):.0f} / {limit or 'no limit'}"

    @admin.display(description="usage")
    def usage(self, org: Organization) -> str:
        if org.pk is None:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row.label,
                    row.limit_display + ("" if row.overridden else " (default)"),
                    row.used_display,
                    "" if row.percent is None else f"{row.percent} %",
                    row.used_note,
                )
                for row in org_usage(org)
            ),
        )
        head = mark_safe("<tr><th>quota</th><th>limit</th><th>used</th><th></th><th>measured as</th></tr>")
        return format_html("<table>{}{}</table>", head, rows)

    def save_model(self, request, obj: Organization, form, change: bool) -> None:
        if change:
            # Through the service: it diffs against the stored row and audits what changed (old and new values).
            values = {name: form.cleaned_data.get(name) for name in services.QUOTA_FIELDS if name in form.cleaned_data}
            services.set_quotas(obj, values, by=request.user, via=Via.ADMIN)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)  # also lists formset.deleted_objects
        roles_before = dict(
            Membership.objects.filter(pk__in=[m.pk for m in instances if m.pk]).values_list("pk", "role")
        )
        for membership in formset.deleted_objects:
            record_membership(Action.MEMBER_REMOVED, membership, request)
            membership.delete()
        for membership in instances:
            is_new = membership.pk is None
            membership.save()
            if is_new:
                record_membership(Action.MEMBER_ADDED, membership, request)
            elif roles_before.get(membership.pk) != membership.role:
                old = roles_before.get(membership.pk)
                record_membership(Action.MEMBER_ROLE_CHANGED, membership, request, role=[old, membership.role])
        formset.save_m2m()
        return None


class CloudAccountForm(forms.ModelForm):
    """Secret fields render empty; leaving one empty keeps the stored value. There is no external id to type: a
    role is always assumed with its org's (``Organization.aws_external_id``)."""

    SECRET_FIELDS = ("access_key_id", "secret_access_key")
    access_key_id = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))

    class Meta:
        model = CloudAccount
        fields = [
            "org", "name", "auth_type", "region", "bucket", "access_key_id",
            "secret_access_key", "role_arn", "created_by",
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


def masked(value: str) -> str:
    """A stored secret as the console shows it: that it is set, and at most its last four characters."""
    if not value:
        return "not set"
    return f"••••{value[-4:]}" if len(value) >= 16 else "set"


@admin.register(CloudAccount)
class CloudAccountAdmin(admin.ModelAdmin):
    """Secrets are never rendered: the list shows masks, the form's secret inputs start empty."""

    form = CloudAccountForm
    list_display = ["name", "org", "auth_type", "region", "bucket", "access_key", "secret", "role_arn", "updated_at"]
    list_filter = ["auth_type", "region", "org"]
    search_fields = ["name", "org__slug", "bucket", "role_arn"]
    autocomplete_fields = ["org", "created_by"]
    list_select_related = ["org"]
    actions = ["test_connection"]

    @admin.display(description="access key")
    def access_key(self, account: CloudAccount) -> str:
        return masked(account.access_key_id) if account.auth_type == CloudAccount.AuthType.ACCESS_KEYS else "-"

    @admin.display(description="secret")
    def secret(self, account: CloudAccount) -> str:
        if account.auth_type == CloudAccount.AuthType.ROLE:
            return "-"  # assumed with the org's platform external id, not a secret of the account
        return "set" if account.secret_access_key else "not set"

    @admin.action(description="Test connection (STS GetCallerIdentity; a role must require the org's external id)")
    def test_connection(self, request, queryset) -> None:
        for account in queryset.select_related("org"):
            result = check_connection(account)
            record(Action.CLOUD_ACCOUNT_TESTED, actor=request.user, via=Via.ADMIN, target=account, details=result)
            if result["ok"]:
                text = f"{account.name}: connected as {result['arn']} (account {result['account']})."
                self.message_user(request, text, messages.SUCCESS)
            else:
                error = result["error"]
                self.message_user(request, f"{account.name}: {error['message']} [{error['id']}]", messages.ERROR)

    def save_model(self, request, obj: CloudAccount, form, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        services.record_cloud_account_saved(
            obj, created=not change, changed=list(form.changed_data), by=request.user, via=Via.ADMIN
        )

    def delete_model(self, request, obj: CloudAccount) -> None:
        services.delete_cloud_account(obj, by=request.user, via=Via.ADMIN)

    def delete_queryset(self, request, queryset) -> None:
        for account in queryset:
            services.delete_cloud_account(account, by=request.user, via=Via.ADMIN)
