"""An in-memory adapter for unit tests of services: it records what would be published."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tasks_app.queue.base import PublishOptions, TaskQueue


@dataclass(frozen=True)
class QueuedTask:
    task_id: str
    name: str
    args: tuple
    kwargs: dict
    options: PublishOptions = field(default_factory=PublishOptions)


@dataclass
class InMemoryTaskQueue(TaskQueue):
    """Keeps the adapter's contract (recorded only after commit) without a broker."""

    published: list[QueuedTask] = field(default_factory=list)

    def publish(
        self, task_name: str, args: tuple, kwargs: dict[str, Any], options: PublishOptions
    ) -> str:
        task = QueuedTask(str(uuid.uuid4()), task_name, args, kwargs, options)
        transaction.on_commit(lambda: self.published.append(task))
        return task.task_id
