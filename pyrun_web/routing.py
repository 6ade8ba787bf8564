"""Websocket routes; each app appends its own (jobs, runtimes, terminal) here."""

from django.urls import path

from jobs.consumers import JobConsumer
from runtimes.consumers import RuntimeConsumer
from workspaces.terminal import TerminalConsumer

websocket_urlpatterns: list = []

# <str:pk>, not <int:pk>: a malformed id must close with 4404 like any unknown one, not fail routing.
websocket_urlpatterns += [
    path("ws/jobs/<str:pk>/", JobConsumer.as_asgi()),
    path("ws/runtimes/<str:pk>/", RuntimeConsumer.as_asgi()),
    path("ws/workspaces/<str:pk>/terminal/", TerminalConsumer.as_asgi()),
]
