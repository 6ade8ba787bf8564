from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "pyrun_web.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        # Every Django process (web, worker, beat, manage.py) makes the platform's Celery app the current one,
        # so shared_task(...).delay() goes to the configured broker.
        import pyrun_web.celery  # noqa: F401
