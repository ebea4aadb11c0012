"""Actions on the task history (django-celery-results' `TaskResult`)."""

from __future__ import annotations

from celery import states
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from tasks_app.queue import PublishOptions, TaskQueue, get_task_queue
from tasks_app.selectors.task_results import task_result_arguments


def task_result_reenqueue(*, task_result: TaskResult, task_queue: TaskQueue | None = None) -> str:
    """Send a failed task again, by name, with its original arguments; return the new task id.

    A new task id: the failed row stays in the history as it was. The queue is the schedule's
    when the failed run came from a schedule, otherwise the default queue.
    """
    if task_result.status != states.FAILURE:
        raise ValidationError(f"Task {task_result.task_id} did not fail ({task_result.status}).")
    if not task_result.task_name:
        raise ValidationError(f"Task {task_result.task_id} has no recorded name.")
    try:
        args, kwargs = task_result_arguments(task_result)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    queue = None
    if task_result.periodic_task_name:
        queue = (
            PeriodicTask.objects.filter(name=task_result.periodic_task_name)
            .values_list("queue", flat=True)
            .first()
        )
    return (task_queue or get_task_queue()).enqueue(
        task_result.task_name, *args, options=PublishOptions(queue=queue or None), **kwargs
    )
