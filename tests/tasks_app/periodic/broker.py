"""Read the raw messages waiting in a queue of the real broker (Redis or the filesystem one)."""

from __future__ import annotations

import json
from pathlib import Path

import redis
from django.conf import settings


def queued_messages(queue: str) -> list[dict]:
    """The kombu payloads in `queue` (headers, properties, body), oldest first."""
    broker = settings.CELERY_BROKER_URL
    if broker.startswith("redis"):
        client = redis.Redis.from_url(broker)
        keys = [queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))]
        return [json.loads(raw) for key in keys for raw in reversed(client.lrange(key, 0, -1))]
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    return [json.loads(path.read_text()) for path in sorted(folder.glob(f"*.{queue}.msg"))]


def drop_queue(queue: str) -> None:
    """Remove a test's own queue (never the shared ones)."""
    broker = settings.CELERY_BROKER_URL
    if broker.startswith("redis"):
        client = redis.Redis.from_url(broker)
        client.delete(queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9)))
        return
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    for path in folder.glob(f"*.{queue}.msg"):
        path.unlink()
