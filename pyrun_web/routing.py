"""Websocket routes; each app appends its own (jobs, terminal) here."""

websocket_urlpatterns: list = []
