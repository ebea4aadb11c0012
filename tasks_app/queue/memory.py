"""An in-memory adapter for unit tests of services: it records what would be published."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from tasks_app.queue.base import TaskQueue


@dataclass(frozen=True)
class QueuedTask:
    task_id: str
    name: str
    args: tuple
    kwargs: dict
    queue: str | None
    countdown: int | None = None
    eta: datetime | None = None


@dataclass
class InMemoryTaskQueue(TaskQueue):
    """Keeps the adapter's contract (recorded only after commit) without a broker."""

    published: list[QueuedTask] = field(default_factory=list)

    def enqueue(self, task_name, *args, countdown=None, queue=None, **kwargs: Any) -> str:
        return self._record(
            QueuedTask(str(uuid.uuid4()), task_name, args, kwargs, queue, countdown)
        )

    def enqueue_at(self, task_name, eta, *args, queue=None, **kwargs: Any) -> str:
        return self._record(QueuedTask(str(uuid.uuid4()), task_name, args, kwargs, queue, eta=eta))

    def names(self) -> list[str]:
        return [task.name for task in self.published]

    def _record(self, task: QueuedTask) -> str:
        transaction.on_commit(lambda: self.published.append(task))
        return task.task_id
