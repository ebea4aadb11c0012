"""kombu's Redis transport with one client per channel (project/redis_broker.py), on a real
Redis: what `redis://` and `rediss://` name, the client kept and renewed with its pool, and a
message through it."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection

from project import redis_broker
from tests.support.services import redis_url, require


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
def test_the_redis_urls_name_the_project_transport_and_read_as_before(scheme):
    connection = Connection(f"{scheme}://:secret@cache.internal:6380/4")

    assert connection.transport_cls == scheme
    assert connection.transport.__class__ is redis_broker.Transport
    assert connection.as_uri() == f"{scheme}://:**@cache.internal:6380/4"
    assert (connection.hostname, connection.port, connection.virtual_host) == (
        "cache.internal", 6380, "4",
    )  # fmt: skip


def test_a_channel_keeps_one_client_for_its_commands_and_renews_it_with_its_pool():
    queue = f"test-redis-broker-{uuid.uuid4().hex[:8]}"
    require("Redis", redis_url())
    with Connection(redis_url()) as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool

        channel._disconnect_pools()  # what kombu does after a fork or a lost connection
        with channel.conn_or_acquire() as renewed:
            assert renewed is not first
            assert renewed.connection_pool is channel.pool

        inbox = connection.SimpleQueue(queue)
        try:
            inbox.put({"n": 1})
            inbox.put({"n": 2})
            assert [inbox.get(timeout=5).payload for _ in range(2)] == [{"n": 1}, {"n": 2}]
        finally:
            inbox.queue.delete()
            inbox.close()
