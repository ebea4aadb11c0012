"""A proxy of django-celery-results' `TaskResult`, so the admin index links to the overview."""

from __future__ import annotations

from django_celery_results.models import TaskResult


class TaskOverview(TaskResult):
    """Nothing is stored under this name; its admin page is the task overview (last 24 hours)."""

    class Meta:
        proxy = True
        verbose_name = "task overview"
        verbose_name_plural = "task overview"
