from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "pyrun_web.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
