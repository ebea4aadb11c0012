"""What the broker and the workers say right now: messages waiting per queue, workers online.

Every probe is short and never raises: the overview must render when the broker or the workers
are away, and shows "unknown" instead.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery, current_app
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from kombu import Connection

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 0.5  # seconds


def monitored_queues() -> list[str]:
    """The queues of the routes (settings.TASK_QUEUES) and those of the schedules."""
    queues = set(settings.TASK_QUEUES.values())
    queues.update(
        q for q in PeriodicTask.objects.exclude(queue=None).values_list("queue", flat=True) if q
    )
    return sorted(queues)


def queue_lengths(queues: list[str], *, app: Celery | None = None) -> dict[str, int | None]:
    """Messages waiting per queue on the broker of `app` (the project's by default; None when the
    broker cannot be asked quickly).

    kombu's passive `queue_declare` answers on every broker: RabbitMQ's own count, the Redis lists
    (priorities included), the embedded broker's files. A queue the broker does not know holds
    nothing (Redis drops an empty list), so it counts 0."""
    try:
        with (app or current_app).connection_for_read(
            connect_timeout=PROBE_TIMEOUT,
            transport_options={"socket_timeout": PROBE_TIMEOUT},  # Redis: no hanging read
        ) as conn:
            conn.connect()  # one attempt: the overview must not wait for retries
            return {queue: _message_count(conn, queue) for queue in queues}
    except Exception as exc:  # the overview shows "unknown" rather than failing
        logger.warning("queue lengths unavailable: %r", exc)
    return dict.fromkeys(queues)


def _message_count(conn: Connection, queue: str) -> int:
    # A channel each: RabbitMQ closes the channel on which a passive declare found no queue.
    with conn.channel() as channel:
        try:
            return channel.queue_declare(queue=queue, passive=True).message_count
        except conn.channel_errors as exc:
            if getattr(exc, "code", None) == 404 or "NOT_FOUND" in str(exc):
                return 0
            raise


def workers_online(
    *, timeout: float = PROBE_TIMEOUT, app: Celery | None = None
) -> list[str] | None:
    """Host names of the workers of `app` (the project's by default) answering a ping within
    `timeout` seconds; None if its broker cannot be reached.

    Celery's ping waits its whole timeout and can wait nearly twice as long: kombu polls again for
    the whole timeout after an event that brings no reply (the Redis transport has some), so the
    overview waited about a second for a half-second ping. Here the ping runs in a thread that
    collects the replies as they arrive; those in after `timeout` are the answer, and the
    thread ends on its own soon after."""
    app = app or current_app
    try:
        conn = app.connection_for_write(connect_timeout=timeout)
        conn.ensure_connection(max_retries=0)  # one attempt: a ping would retry for seconds
    except Exception as exc:
        logger.warning("workers cannot be pinged: %r", exc)
        return None
    replies: list[dict] = []
    pinging = threading.Thread(
        target=_ping, args=(app, conn, timeout, replies), name="workers-ping", daemon=True
    )
    pinging.start()
    pinging.join(timeout)
    return sorted(name for reply in list(replies) for name in reply)


def _ping(app: Celery, conn: Connection, timeout: float, replies: list[dict]) -> None:
    try:
        with conn:
            app.control.ping(connection=conn, timeout=timeout, callback=replies.append)
    except Exception as exc:
        logger.warning("workers ping failed: %r", exc)
