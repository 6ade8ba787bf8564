from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The operator console: dashboard, status collectors, the staff actions and the admin pages and management
    commands that use them. It sits above the domain apps (jobs, runtimes, workspaces, tenancy) and reads them all;
    none of them imports it (docs/architecture.md, checked by ``lint-imports``)."""

    name = "ops"
    label = "ops"
    verbose_name = "Operations"
