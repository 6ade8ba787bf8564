from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The operator console: dashboard, status collectors and the staff actions the admin pages and the
    management commands share. It sits above the domain apps (jobs, runtimes, workspaces, tenancy) and reads them
    all; none of them depends on it except through the admin."""

    name = "ops"
    label = "ops"
    verbose_name = "Operations"
