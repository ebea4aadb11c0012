"""The Celery adapter of the task-queue port, backed by a transactional outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tasks_app.queue.base import TaskQueue


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

    def enqueue(
        self,
        task_name: str,
        *args: Any,
        countdown: int | None = None,
        queue: str | None = None,
        **kwargs: Any,
    ) -> str:
        # A countdown becomes a deadline now: a message relayed later must not wait again.
        eta = timezone.now() + timedelta(seconds=countdown) if countdown else None
        return self._write(task_name, args, kwargs, queue=queue, eta=eta)

    def enqueue_at(
        self,
        task_name: str,
        eta: datetime,
        *args: Any,
        queue: str | None = None,
        **kwargs: Any,
    ) -> str:
        return self._write(task_name, args, kwargs, queue=queue, eta=eta)

    def _write(
        self, task_name: str, args: tuple, kwargs: dict, *, queue: str | None, eta: datetime | None
    ) -> str:
        from tasks_app.models import OutboxMessage
        from tasks_app.queue.outbox import outbox_publish_one

        message = OutboxMessage.objects.create(
            task_id=str(uuid.uuid4()),
            task_name=task_name,
            args=list(args),
            kwargs=kwargs,
            queue=queue or settings.CELERY_TASK_DEFAULT_QUEUE,
            eta=eta,
        )
        transaction.on_commit(lambda: outbox_publish_one(self._app, message.pk))
        return message.task_id
