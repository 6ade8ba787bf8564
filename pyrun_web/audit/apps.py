from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "pyrun_web.audit"
    label = "audit"
    verbose_name = "Audit log"
