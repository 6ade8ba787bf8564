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
