"""The channel layer (Redis) carries messages, also after a receive waits longer than redis-py's read timeout."""

import asyncio

from channels.layers import get_channel_layer


def test_group_message_arrives_after_a_long_idle_wait():
    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("pyrun-test-group", channel)
        receive = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(6.5)  # longer than the 5 s that used to kill every waiting consumer
        await layer.group_send("pyrun-test-group", {"type": "hello", "n": 1})
        message = await asyncio.wait_for(receive, 5)
        await layer.group_discard("pyrun-test-group", channel)
        return message

    assert asyncio.run(scenario()) == {"type": "hello", "n": 1}
