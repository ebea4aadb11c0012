"""The overview's models: a proxy of django-celery-results' `TaskResult`, so the admin index links
to the overview, and the finished tasks counted by quarter hour for its charts."""

from __future__ import annotations

from django.db import models
from django_celery_results.models import TaskResult


class TaskOverview(TaskResult):
    """Nothing is stored under this name; its admin page is the task overview (last 24 hours)."""

    class Meta:
        proxy = True
        verbose_name = "task overview"
        verbose_name_plural = "task overview"


class HistoryBucket(models.Model):
    """The history's tasks that finished in one quarter hour (UTC), by outcome: what the charts of
    the overview read for the quarters that have ended, instead of counting a week of history on
    every view. Written by tasks_app.services.history_buckets; a quarter with no task has a row
    of zeros, so the rows of a stretch of time say it was counted."""

    start = models.DateTimeField(unique=True)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    revoked = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}"
