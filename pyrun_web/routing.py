"""Websocket routes; each app appends its own (jobs, terminal) here."""

from django.urls import path

from workspaces.terminal import TerminalConsumer

websocket_urlpatterns: list = []

# <str:pk>, not <int:pk>: a malformed id must close with 4404 like any unknown one, not fail routing.
websocket_urlpatterns += [
    path("ws/workspaces/<str:pk>/terminal/", TerminalConsumer.as_asgi()),
]
