"""What the broker and the workers say right now: messages waiting per queue, workers online.

Every probe is short and never raises: the overview must render when the broker or the workers
are away, and shows "unknown" instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

from celery import current_app
from django.conf import settings
from django_celery_beat.models import PeriodicTask

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 0.5  # seconds


def monitored_queues() -> list[str]:
    """The default queue, the queues of the schedules and those named in task routes."""
    queues = {settings.CELERY_TASK_DEFAULT_QUEUE}
    queues.update(
        q for q in PeriodicTask.objects.exclude(queue=None).values_list("queue", flat=True) if q
    )
    routes = getattr(settings, "CELERY_TASK_ROUTES", None)
    if isinstance(routes, dict):
        queues.update(
            route["queue"]
            for route in routes.values()
            if isinstance(route, dict) and "queue" in route
        )
    return sorted(queues)


def queue_lengths(queues: list[str]) -> dict[str, int | None]:
    """Messages waiting per queue (None when the broker cannot be asked quickly)."""
    broker = settings.CELERY_BROKER_URL
    try:
        if broker.startswith(("redis://", "rediss://")):
            return _redis_queue_lengths(broker, queues)
        if broker.startswith("filesystem://"):
            return _filesystem_queue_lengths(queues)
    except Exception as exc:  # the overview shows "unknown" rather than failing
        logger.warning("queue lengths unavailable: %r", exc)
    return dict.fromkeys(queues)


def _redis_queue_lengths(broker: str, queues: list[str]) -> dict[str, int | None]:
    import redis

    client = redis.Redis.from_url(
        broker, socket_timeout=PROBE_TIMEOUT, socket_connect_timeout=PROBE_TIMEOUT
    )
    try:
        # kombu keeps priorities 3, 6 and 9 in lists named "<queue>\x06\x16<priority>".
        pipe = client.pipeline()
        for queue in queues:
            for key in (queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))):
                pipe.llen(key)
        sizes = pipe.execute()
    finally:
        client.close()
    return {queue: sum(sizes[i * 4 : i * 4 + 4]) for i, queue in enumerate(queues)}


def _filesystem_queue_lengths(queues: list[str]) -> dict[str, int | None]:
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    names = [entry.name for entry in folder.iterdir()]  # "<ms>_<uuid>.<queue>.msg"
    return {queue: sum(name.endswith(f".{queue}.msg") for name in names) for queue in queues}


def workers_online(*, timeout: float = PROBE_TIMEOUT) -> list[str] | None:
    """Host names of the workers answering a ping within `timeout` (None if the broker is down).

    Celery's current app is the project's (loading Django loads it)."""
    try:
        replies = current_app.control.ping(timeout=timeout)
    except Exception as exc:
        logger.warning("workers cannot be pinged: %r", exc)
        return None
    return sorted(name for reply in replies for name in reply)
