"""What follows a task's publish: its `TaskResult` row and the mark that the broker has it.

The port writes only the task's record in the caller's transaction. After the commit it
publishes, then hands the ids to `mark_published_soon`: on Postgres a daemon thread of the process
writes, every `MARK_DELAY`, one asynchronously committed statement that adds the PENDING result
rows of every task published since and sets their records' `published_at`; the caller does no
database work after its publish. Inside a transaction (a test's) or on another database the same
rows are written at once. A worker that starts a task first writes its result row itself
(tasks_app.ledger.attempts), and a publish that failed writes it with the failure.

A process killed within `MARK_DELAY` of a publish loses those marks: the relay publishes the
records again after its grace (at-least-once; consumers are idempotent) and writes their rows.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
from collections.abc import Sequence

from celery import states
from celery.signals import worker_process_shutdown
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.ledger.bookkeeping import ASYNC_COMMIT_SQL
from tasks_app.models.ledger import TaskRecord

logger = logging.getLogger(__name__)

MARK_DELAY = 0.2  # seconds the thread gathers marks before writing them
IDLE_CLOSE = 10.0  # seconds without marks after which the thread closes its connection


# The result rows the records imply (a row a worker or a cancel wrote first is kept), and the
# marks: one statement, committed asynchronously.
_MARK = """
WITH results AS (
    INSERT INTO {results} (task_id, task_name, task_args, task_kwargs, status, content_type,
        content_encoding, date_created, date_done, periodic_task_name)
    SELECT task_id, task_name, task_args, task_kwargs, %(pending)s, 'application/json', 'utf-8',
        created_at, created_at, NULLIF(schedule, '')
    FROM {records} WHERE task_id = ANY(%(ids)s::varchar[])
    ON CONFLICT (task_id) DO NOTHING
)
UPDATE {records} SET published_at = %(now)s
WHERE task_id = ANY(%(ids)s::varchar[]) AND published_at IS NULL AND {async_commit_sql}
"""
_MARK = _MARK.format(
    results=TaskResult._meta.db_table,
    records=TaskRecord._meta.db_table,
    async_commit_sql=ASYNC_COMMIT_SQL,
)


def ledger_mark_published(task_ids: Sequence[str]) -> None:
    """The broker accepted these messages: their result rows, and their records marked.

    Losing this write (Postgres crashing within its WAL writer delay) only leaves the records
    unpublished, and the relay publishes them again: consumers are idempotent (at-least-once).
    """
    now = timezone.now()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(_MARK, {"ids": list(task_ids), "now": now, "pending": states.PENDING})
        return
    with transaction.atomic():
        ledger_results_create(task_ids)
        TaskRecord.objects.filter(result_id__in=task_ids, published_at__isnull=True).update(
            published_at=now
        )


def ledger_mark_publish_failed(task_ids: Sequence[str], error: str) -> None:
    """The broker refused or was unreachable: the records stay for the relay, with the reason,
    and the history shows them waiting."""
    with transaction.atomic():
        ledger_results_create(task_ids)
        TaskRecord.objects.filter(result_id__in=task_ids).update(
            publish_failures=F("publish_failures") + 1, last_publish_error=error[:2000]
        )


def ledger_results_create(task_ids: Sequence[str]) -> None:
    """The PENDING result rows of these recorded tasks, where a task has none yet."""
    records = TaskRecord.objects.filter(result_id__in=task_ids)
    TaskResult.objects.bulk_create(
        [record.pending_result() for record in records], ignore_conflicts=True
    )


def mark_published_soon(task_ids: Sequence[str]) -> None:
    """Write these tasks' result rows and publish marks: by the thread on Postgres outside a
    transaction, else at once."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        ledger_mark_published(task_ids)
    else:
        _marks.add(task_ids)


def flush_published_marks() -> None:
    """Write the marks gathered so far, now (when a worker's pool process ends)."""
    _marks.flush()


def stop_published_marks() -> None:
    """Write the marks gathered so far and end the thread, closing its connection (at exit)."""
    _marks.stop()


class _Marks:
    """Ids waiting for their mark, and the thread that writes them every `MARK_DELAY`.

    The caller only appends to a deque (atomic, no lock, nothing woken): the thread looks on its
    own clock.
    """

    def __init__(self) -> None:
        self._pending: collections.deque[str] = collections.deque()
        self._writing = threading.Lock()  # one write at a time: a flush waits for one under way
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, task_ids: Sequence[str]) -> None:
        self._pending.extend(task_ids)
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="ledger-publish-marks", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        with self._writing:
            task_ids = []
            while self._pending:
                task_ids.append(self._pending.popleft())
            if not task_ids:
                return
            try:
                ledger_mark_published(task_ids)
            except Exception:  # published all the same; the relay may send them again
                logger.exception("could not mark %d published task(s)", len(task_ids))

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            self.flush()
            return
        self._stop.set()
        thread.join(timeout=10)
        self.flush()  # what came after the thread's last look

    def _run(self) -> None:
        idle_since = time.monotonic()
        try:
            while not self._stop.wait(MARK_DELAY):
                if not self._pending:
                    if time.monotonic() - idle_since > IDLE_CLOSE:
                        connection.close()  # this thread's own connection, idle
                    continue
                close_old_connections()
                self.flush()
                idle_since = time.monotonic()
            self.flush()
        finally:
            connection.close()
            self._thread = None

    def reset(self) -> None:
        """In a forked child: the parent writes its own marks; the child starts empty."""
        self.__init__()


_marks = _Marks()
os.register_at_fork(after_in_child=_marks.reset)
atexit.register(stop_published_marks)


@worker_process_shutdown.connect
def _flush_on_pool_process_shutdown(**kwargs) -> None:
    flush_published_marks()
