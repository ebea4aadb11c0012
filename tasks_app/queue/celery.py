"""The Celery adapter of the task-queue port, backed by a transactional outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from django.db import transaction
from django.utils import timezone

from project.visibility import check_eta
from tasks_app.queue.base import PublishOptions, TaskQueue


class CeleryTaskQueue(TaskQueue):
    """Writes the task to the outbox in the caller's transaction and publishes it after commit.

    The task id is chosen here, so the caller gets it at once. A rolled-back transaction takes its
    outbox row with it: nothing is published. If the broker is down at commit, the row stays and
    `manage.py relay_outbox` publishes it later, so the work is not lost with the request.
    """

    def __init__(self, celery_app: Celery | None = None) -> None:
        if celery_app is None:
            from project.celery import app as celery_app
        self._app = celery_app

    def publish(
        self, task_name: str, args: tuple, kwargs: dict[str, Any], options: PublishOptions
    ) -> str:
        from tasks_app.models import OutboxMessage
        from tasks_app.queue.outbox import outbox_publish_one

        now = timezone.now()
        eta = _deadline(now, options.eta or options.countdown)
        if eta is not None:
            check_eta(eta, now=now)  # Redis would deliver it twice before it is due
        message = OutboxMessage.objects.create(
            task_id=str(uuid.uuid4()),
            task_name=task_name,
            args=list(args),
            kwargs=kwargs,
            queue=options.queue or "",  # empty: Celery's router picks it (settings.TASK_ROUTES)
            eta=eta,
            options=_message_options(now, options),
        )
        transaction.on_commit(lambda: outbox_publish_one(self._app, message.pk))
        return message.task_id


def _deadline(now: datetime, when: datetime | float | None) -> datetime | None:
    """Seconds become a deadline now: a message relayed later must not wait (or live) again."""
    if when is None or isinstance(when, datetime):
        return when
    return now + timedelta(seconds=when)


def _message_options(now: datetime, options: PublishOptions) -> dict[str, Any]:
    """The options stored on the outbox row besides its queue and eta (JSON; None left out)."""
    stored = {
        "priority": options.priority,
        "expires": _deadline(now, options.expires),
        "headers": dict(options.headers) or None,
        "exchange": options.exchange,
        "routing_key": options.routing_key,
    }
    return {name: value for name, value in stored.items() if value is not None}
