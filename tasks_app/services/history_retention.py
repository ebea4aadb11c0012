"""Deleting task history (django-celery-results' `TaskResult`) past its retention.

What is past its retention is the selector's rule (`task_results_expired_q`: 7 days for a success,
30 for anything else, per task name overrides in TASK_HISTORY_RETENTION). How it is deleted is the
session cleanup's technique (accounts/cleanup.py, measured in docs/benchmarks.md): many short
transactions instead of one long DELETE, so a worker storing a result, the admin or a second run
never waits behind the whole cleanup, and a crash loses one batch of work.

Postgres: one pass over the table in ranges of pages, one autocommit statement per range behind an
advisory try-lock (a range another run holds is skipped, so two runs never wait on each other),
with asynchronous commit. A row written while the pass runs is fresh, so the age condition keeps
it; a row that moves (a new version) into a range already passed is deleted by the next run.
Elsewhere (SQLite): primary-key batches, each its own transaction.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_celery_results.models import TaskResult

from accounts.cleanup import _asynchronous_commit, _counted, _table_pages
from tasks_app.selectors.task_results import task_results_expired_q

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
# First key of the advisory locks on page ranges (the session cleanup uses 0x5E55).
ADVISORY_LOCK_CLASS = 0x4157

_PG_DELETE_RANGE = """
WITH range_lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(%s, %s) AS acquired)
DELETE FROM {table}
WHERE (SELECT acquired FROM range_lock)
  AND ctid >= %s::tid AND ctid < %s::tid AND ({condition})
"""


def task_history_expire(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime.datetime | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete the task history past its retention at `now`; return how many rows this call
    deleted (not those a concurrent run deleted). `on_batch` is told each batch's count."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    expired = task_results_expired_q(now=now or timezone.now())
    if connection.vendor == "postgresql":
        deleted = _expire_postgres(expired=expired, batch_size=batch_size, on_batch=on_batch)
    else:
        deleted = _expire_portable(expired=expired, batch_size=batch_size, on_batch=on_batch)
    logger.info("deleted %d task history rows past their retention", deleted)
    return deleted


def _expire_postgres(*, expired: Q, batch_size: int, on_batch: Callable[[int], None] | None) -> int:
    table_name = TaskResult._meta.db_table
    query = TaskResult.objects.filter(expired).query
    # The WHERE clause Django builds for the rule, its columns qualified by the table's name.
    condition, params = query.get_compiler(connection=connection).compile(query.where)
    statement = _PG_DELETE_RANGE.format(
        table=connection.ops.quote_name(table_name), condition=condition
    )
    pages, rows_per_page = _table_pages(table_name)
    step = max(1, batch_size // rows_per_page)
    deleted = 0
    with _asynchronous_commit(), connection.cursor() as cursor:
        for first in range(0, pages, step):
            cursor.execute(
                statement,
                [ADVISORY_LOCK_CLASS, first, f"({first},0)", f"({first + step},0)", *params],
            )
            deleted += _counted(cursor.rowcount, on_batch)
    return deleted


def _expire_portable(*, expired: Q, batch_size: int, on_batch: Callable[[int], None] | None) -> int:
    """Primary-key batches, oldest first (the `date_done` index); SQLite serialises writers, so a
    second run waits for a batch, not for the whole cleanup."""
    deleted = 0
    while True:
        with transaction.atomic():
            batch = TaskResult.objects.filter(expired).order_by("date_done").values("pk")
            # Nothing refers to TaskResult and no receiver listens: one plain DELETE.
            count, _ = TaskResult.objects.filter(expired, pk__in=batch[:batch_size]).delete()
        if not count:
            return deleted
        deleted += _counted(count, on_batch)
