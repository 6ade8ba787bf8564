"""The platform package. Importing it must stay cheap: ``pyrun-web healthcheck`` (docker-compose's web health check,
every 15 s) needs only httpx, so the Celery app (which pulls in Django) is loaded on first use, or by
``TenancyConfig.ready`` in every Django process."""


def __getattr__(name: str):
    if name == "celery_app":
        from pyrun_web.celery import app

        return app
    raise AttributeError(f"module 'pyrun_web' has no attribute {name!r}")
