"""kombu's Redis transport, with one Redis client per channel instead of one per command.

kombu (5.7) builds a new `redis.Redis` for every message it puts and every event it publishes
(`Channel.conn_or_acquire`), and redis-py (8.1) rebuilds its table of about 170 response callbacks
for each one: about 50 µs a message here, a sixth of a `send_task` (redis/redis-py#3624; a fix,
redis/redis-py#4124, is open). A client is a thin front of the channel's connection pool, safe to
share: each command takes a connection from the pool and gives it back. So the channel keeps
one, and makes a new one when kombu replaces the pool (after a fork or a lost connection).

`install()` (called by project/celery.py) makes this class what the `redis://` and `rediss://`
URLs name, so the URL, its TLS handling and what Flower and the worker's banner show stay
kombu's own.
"""

from __future__ import annotations

import redis
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client: redis.Redis | None = None

    def _create_client(self, asynchronous: bool = False) -> redis.Redis:
        if asynchronous:  # the consumer's client (BRPOP, pub/sub): kombu keeps it already
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._shared_client
        if client is None or client.connection_pool is not pool:
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
