"""Task history housekeeping and counts (scheduled in the database by django-celery-beat)."""

from __future__ import annotations

from celery import shared_task

from tasks_app.services.history_buckets import history_buckets_count
from tasks_app.services.history_retention import task_history_expire


@shared_task(name="tasks_app.expire_task_history", time_limit=900, soft_time_limit=840)
def expire_task_history() -> dict[str, int]:
    """Delete task history past its retention (TASK_HISTORY_RETENTION), in short batches.

    On redelivery or an overlapping run it deletes only what is still there and counts only the
    rows it deleted itself, so running twice is harmless.
    """
    return {"deleted": task_history_expire()}


@shared_task(name="tasks_app.count_history_buckets", time_limit=300, soft_time_limit=240)
def count_history_buckets() -> dict[str, int]:
    """Count the finished tasks of the quarter hours settled since the last run, for the overview's
    charts. A redelivery or an overlapping run finds them counted and counts nothing again."""
    return {"counted": history_buckets_count()}
