"""The Celery adapter of the task-queue port: the ledger's rows are the transactional outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from django.db import transaction
from django.utils import timezone

from project.visibility import check_eta
from tasks_app.queue.base import PublishOptions, TaskQueue
from tasks_app.queue.routes import route_task


class CeleryTaskQueue(TaskQueue):
    """Records the task in the caller's transaction and publishes it after commit.

    The task id is chosen here, so the caller gets it at once, and the history shows the task as
    queued from that moment (`TaskResult` PENDING plus its `TaskRecord`, tasks_app.models.ledger).
    A rolled-back transaction takes both rows with it: nothing is published. If the broker is down
    at commit, the record stays unpublished and the relay (`manage.py relay_outbox`, the
    `relay-outbox` schedule) publishes it later, so the work is not lost with the request.
    """

    def __init__(self, celery_app: Celery | None = None) -> None:
        if celery_app is None:
            from project.celery import app as celery_app
        self._app = celery_app

    def publish(
        self, task_name: str, args: tuple, kwargs: dict[str, Any], options: PublishOptions
    ) -> str:
        return self.publish_many(task_name, [(args, kwargs)], options)[0]

    def publish_many(
        self, task_name: str, calls: list[tuple[tuple, dict[str, Any]]], options: PublishOptions
    ) -> list[str]:
        from tasks_app.ledger.enqueue import ledger_record
        from tasks_app.queue.outbox import outbox_publish_after_commit

        now = timezone.now()
        eta = _deadline(now, options.eta or options.countdown)
        if eta is not None:
            check_eta(eta, now=now)  # Redis would deliver it twice before it is due
        queue = options.queue or route_task(task_name, None, None, {})["queue"]
        tasks = ledger_record(
            task_name,
            [(str(uuid.uuid4()), list(args), kwargs) for args, kwargs in calls],
            queue=queue,
            eta=eta,
            options=_message_options(now, options),
            now=now,
        )
        transaction.on_commit(lambda: outbox_publish_after_commit(self._app, tasks))
        return [task.task_id for task in tasks]


def _deadline(now: datetime, when: datetime | float | None) -> datetime | None:
    """Seconds become a deadline now: a message relayed later must not wait (or live) again."""
    if when is None or isinstance(when, datetime):
        return when
    return now + timedelta(seconds=when)


def _message_options(now: datetime, options: PublishOptions) -> dict[str, Any]:
    """The options stored on the record besides its queue and eta (JSON; None left out)."""
    stored = {
        "priority": options.priority,
        "expires": _deadline(now, options.expires),
        "headers": dict(options.headers) or None,
        "exchange": options.exchange,
        "routing_key": options.routing_key,
    }
    return {name: value for name, value in stored.items() if value is not None}
