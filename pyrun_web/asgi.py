import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyrun_web.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up first)
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from pyrun_web import redaction  # noqa: E402
from pyrun_web.routing import websocket_urlpatterns  # noqa: E402
from pyrun_web.ws_auth import PyrunAuthMiddlewareStack  # noqa: E402
from workspaces.uploads import UploadBodyLimit  # noqa: E402


class BrowserOriginValidator(OriginValidator):
    """Check the Origin of browser sockets against ALLOWED_HOSTS; let non-browser clients (the CLI, CI) in.

    The Origin check exists against cross-site hijacking of a browser's session cookie. Browsers always send
    Origin on websockets, so a socket without one is not a browser and must authenticate with a token.
    """

    def valid_origin(self, parsed_origin) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)


# uvicorn set up its own handlers before importing this module: keep keys (``?token=pyr_…`` on websocket
# URLs) out of its access and error logs too, not only out of the handlers of settings.LOGGING.
redaction.install("uvicorn", "uvicorn.error", "uvicorn.access", logging.getLogger())

application = ProtocolTypeRouter(
    {
        # Upload routes: an oversized body is refused while it streams, before Django spools it to disk.
        "http": UploadBodyLimit(django_asgi_app),
        # Same host patterns as Channels' AllowedHostsOriginValidator, which passes ALLOWED_HOSTS as is.
        "websocket": BrowserOriginValidator(
            PyrunAuthMiddlewareStack(URLRouter(websocket_urlpatterns)), settings.ALLOWED_HOSTS
        ),
    }
)
