"""The browser IDE: ``frontend/dist/index.html`` for ``/`` and the single-page app's routes.

Only the SPA's own prefixes are served here (``/w/…``, ``/settings/…``, ``/pipelines/…``), so ``/api/``,
``/admin/``, ``/ops/``, ``/static/`` and ``/ws/`` keep their own handlers and 404s. Its assets are static files
under ``/static/`` (``STATICFILES_DIRS``). Login and logout stay server-rendered.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie

from pyrun_web.infra.datadir import BASE_DIR

SPA_PREFIXES = ("w", "settings", "pipelines")
_ALTERNATIVES = "|".join(SPA_PREFIXES)
SPA_PATTERN = rf"^(?:{_ALTERNATIVES})(?:/.*)?$"

_MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PyRun Web: frontend not built</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>The browser IDE is not built</h1>
<p>This server has no <code>frontend/dist/index.html</code>. Build it with <code>make frontend</code>
(or <code>make up</code>, which builds it when missing or stale), then reload.</p>
<p>The REST API works meanwhile: <a href="/api/v1/docs/">/api/v1/docs/</a>.</p>
</body></html>
"""


def dist_dir() -> Path:
    return Path(getattr(settings, "PYRUN_FRONTEND_DIST", BASE_DIR / "frontend" / "dist"))


@login_required
@ensure_csrf_cookie  # the SPA sends it back as X-CSRFToken on unsafe API calls
def index(request, *args, **kwargs) -> HttpResponse:
    try:
        html = (dist_dir() / "index.html").read_text(encoding="utf-8")
    except FileNotFoundError:
        return HttpResponse(_MISSING, status=503, headers={"Retry-After": "60"})
    # The page names hashed assets: it must be revalidated on every load, the assets can be cached forever.
    return HttpResponse(html, headers={"Cache-Control": "no-cache"})
