import logging

from django.test import override_settings

from pyrun_web.infra.live import publish

DEAD_LAYER = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": "unix:///nonexistent/redis.sock", "socket_connect_timeout": 0.2}]},
    }
}


def test_an_outage_is_logged_once_and_recovery_says_how_much_was_missed(caplog):
    caplog.set_level(logging.WARNING, logger="pyrun_web.infra.live")
    with override_settings(CHANNEL_LAYERS=DEAD_LAYER):
        assert [publish("job-1", {"type": "job.log", "n": n}) for n in range(3)] == [False, False, False]
    assert len(caplog.records) == 1
    assert caplog.records[0].exc_info is not None
    assert publish("job-1", {"type": "job.log", "n": 4}) is True
    assert caplog.records[-1].getMessage() == "live events are published again; 3 could not be sent meanwhile"


def test_publishing_from_sync_code_reuses_one_redis_connection(settings):
    """A run's start-up publishes several log batches: each must not open a Redis connection of its own."""
    import uuid

    from pyrun_web.infra.redis import redis_client

    name = f"live-test-{uuid.uuid4().hex[:8]}"
    layer = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": settings.REDIS_URL, "socket_timeout": None, "client_name": name}]},
        }
    }

    def ours() -> list[str]:
        return [client["id"] for client in redis_client().client_list() if client.get("name") == name]

    with override_settings(CHANNEL_LAYERS=layer):
        assert publish("job-1", {"type": "job.log", "n": 0}) is True
        first = ours()
        assert [publish("job-1", {"type": "job.log", "n": n}) for n in range(1, 21)] == [True] * 20
        assert len(first) == 1
        assert ours() == first
