"""The real broker from the test's side: the raw messages waiting in a queue (Redis or the
filesystem one), and a Celery app that publishes to another broker."""

from __future__ import annotations

import json
from pathlib import Path

import redis
from celery import Celery
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


def publisher_app(broker_url: str) -> Celery:
    """A Celery app like the project's, publishing to `broker_url` (the test process's own app
    keeps the settings' broker)."""
    app = Celery(f"publisher-{broker_url}", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    # Not broker_url: Celery lets the CELERY_BROKER_URL variable win over it; these two it doesn't.
    app.conf.broker_read_url = app.conf.broker_write_url = broker_url
    # The embedded broker's transport class (project/broker.py) would win over the URL's scheme.
    app.conf.broker_transport = None
    app.conf.broker_transport_options = {}
    return app
