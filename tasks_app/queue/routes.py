"""Celery's router (settings.CELERY_TASK_ROUTES): the queue of a task, from TASK_ROUTES and
TASK_QUEUES in settings, read each time a task is sent."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def route_task(
    name: str, args: Any, kwargs: Any, options: dict[str, Any], task: Any = None, **kw: Any
) -> dict[str, str]:
    """The queue of the task's kind; a task with no route goes to the default queue."""
    return {"queue": settings.TASK_QUEUES[settings.TASK_ROUTES.get(name, "default")]}
