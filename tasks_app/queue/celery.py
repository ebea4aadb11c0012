"""The Celery adapter of the task-queue port."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from celery import Celery
from django.conf import settings
from django.db import transaction

from tasks_app.queue.base import TaskQueue


class CeleryTaskQueue(TaskQueue):
    """Publishes with `send_task` once the current transaction commits (at once outside one).

    The task id is chosen here, so the caller gets it immediately, even before publication.
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
        return self._publish_on_commit(task_name, args, kwargs, queue=queue, countdown=countdown)

    def enqueue_at(
        self,
        task_name: str,
        eta: datetime,
        *args: Any,
        queue: str | None = None,
        **kwargs: Any,
    ) -> str:
        return self._publish_on_commit(task_name, args, kwargs, queue=queue, eta=eta)

    def _publish_on_commit(
        self, task_name: str, args: tuple, kwargs: dict, *, queue: str | None, **options: Any
    ) -> str:
        task_id = str(uuid.uuid4())
        transaction.on_commit(
            lambda: self._app.send_task(
                task_name,
                args=list(args),
                kwargs=kwargs,
                task_id=task_id,
                queue=queue or settings.CELERY_TASK_DEFAULT_QUEUE,
                **options,
            )
        )
        return task_id
