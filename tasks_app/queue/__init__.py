"""The task-queue port (`TaskQueue`) and the adapter chosen by `settings.TASK_QUEUE_BACKEND`.

Services enqueue background work through this port, never by importing Celery, so that a unit test
can pass an `InMemoryTaskQueue` and the broker stays an infrastructure detail.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from tasks_app.queue.base import PublishOptions, TaskQueue


@cache
def get_task_queue() -> TaskQueue:
    """The configured adapter (a dotted path, as Django's own pluggable backends are chosen)."""
    return import_string(settings.TASK_QUEUE_BACKEND)()


__all__ = ["PublishOptions", "TaskQueue", "get_task_queue"]
