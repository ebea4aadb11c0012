"""Deleting task history (django-celery-results' `TaskResult`) past its retention.

What is past its retention is the selector's rule (`task_results_expired_q`: 7 days for a success,
30 for anything else, per task name overrides in TASK_HISTORY_RETENTION). How it is deleted is the
session cleanup's technique, project/batched_delete.py: many short transactions instead of one
long DELETE, so a worker storing a result, the admin or a second run never waits behind the whole
cleanup, and a crash loses one batch of work. A row written while the pass runs is fresh, so the
age condition keeps it.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_celery_results.models import TaskResult

from project.batched_delete import DEFAULT_BATCH_SIZE, delete_in_batches
from tasks_app.models.ledger import TaskAttempt, TaskRecord
from tasks_app.selectors.task_results import task_results_expired_q

logger = logging.getLogger(__name__)

# First key of the advisory locks on page ranges (the session cleanup uses 0x5E55).
ADVISORY_LOCK_CLASS = 0x4157


def task_history_expire(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime.datetime | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete the task history past its retention at `now`; return how many tasks this call
    deleted (not those a concurrent run deleted). `on_batch` is told each batch's count.

    The tasks' results go first, then the records and attempts left without one (the ledger's
    tables join the results without a foreign key), in the same batches."""
    deleted = delete_in_batches(
        TaskResult,
        task_results_expired_q(now=now or timezone.now()),
        lock_class=ADVISORY_LOCK_CLASS,
        batch_size=batch_size,
        on_batch=on_batch,
    )
    for model, task_id in ((TaskRecord, "result_id"), (TaskAttempt, "task_id")):
        delete_in_batches(
            model,
            ~Exists(TaskResult.objects.filter(task_id=OuterRef(task_id))),
            lock_class=ADVISORY_LOCK_CLASS,
            batch_size=batch_size,
        )
    logger.info("deleted %d tasks' history past their retention", deleted)
    return deleted
