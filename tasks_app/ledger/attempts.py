"""What a worker writes about an attempt: when it starts and when it ends.

One statement each on Postgres, committed asynchronously (tasks_app.ledger.bookkeeping): at the
start, the task's status and the attempt's row; at the end, the result and the attempt's end.
Elsewhere (SQLite) the same writes in a short transaction. A worker killed mid-attempt leaves the
attempt `running`; the redelivered message starts the next attempt, and the history shows the
earlier one as lost.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from celery import states
from django.db import IntegrityError, connection
from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_celery_results.models import TaskResult

from tasks_app.ledger.bookkeeping import ASYNC_COMMIT_SQL, bookkeeping_transaction
from tasks_app.models.ledger import Outcome, TaskAttempt, TaskRecord

QUEUED_AT = "ledger_queued_at"  # the message header saying when the task was queued
OUTCOMES = {
    states.SUCCESS: Outcome.SUCCESS,
    states.FAILURE: Outcome.FAILURE,
    states.RETRY: Outcome.RETRY,
    states.REVOKED: Outcome.IGNORED,
}
RESULTS = TaskResult._meta.db_table
ATTEMPTS = TaskAttempt._meta.db_table

# The task's row says STARTED (written here if the publish mark has not written it yet), unless
# it was cancelled, and the attempt's row is added, numbered after the task's earlier attempts:
# no row comes back when the task was cancelled.
_START = """
WITH started AS (
    INSERT INTO {results} AS result (task_id, task_name, task_args, task_kwargs,
        periodic_task_name, status, content_type, content_encoding, date_created, date_started,
        date_done, worker)
    SELECT %(task_id)s, %(task_name)s, %(task_args)s, %(task_kwargs)s, %(schedule)s, %(started)s,
        'application/json', 'utf-8',
        COALESCE((SELECT created_at FROM {records} WHERE task_id = %(task_id)s), %(now)s),
        %(now)s, %(now)s, %(worker)s
    ON CONFLICT (task_id) DO UPDATE SET status = excluded.status,
        date_started = excluded.date_started, date_done = excluded.date_done,
        worker = excluded.worker
    WHERE result.status <> %(revoked)s
    RETURNING task_id
)
INSERT INTO {attempts} (task_id, task_name, number, worker, received_at, started_at,
    wait_seconds, outcome, error)
SELECT task_id, %(task_name)s,
    COALESCE((SELECT max(number) FROM {attempts} WHERE task_id = %(task_id)s), 0) + 1,
    %(worker)s, %(received_at)s, %(now)s, %(wait)s, %(running)s, ''
FROM started
WHERE {async_commit_sql}
RETURNING id, number
"""
_FINISH = """
WITH done AS (
    UPDATE {results} SET status = %(status)s, result = %(result)s, content_type = %(content_type)s,
        content_encoding = %(content_encoding)s, traceback = %(traceback)s,
        worker = COALESCE(%(worker)s, worker), date_done = %(now)s
    WHERE task_id = %(task_id)s
    RETURNING 1
), ended AS (
    UPDATE {attempts} SET finished_at = %(now)s, outcome = %(outcome)s,
        runtime_seconds = %(runtime)s, error = %(error)s
    WHERE id = %(attempt_id)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM done) WHERE {async_commit_sql}
"""
# Table names from the models; every value is a bound parameter.
_TABLES = {
    "results": RESULTS,
    "records": TaskRecord._meta.db_table,
    "attempts": ATTEMPTS,
    "async_commit_sql": ASYNC_COMMIT_SQL,
}
_START, _FINISH = _START.format(**_TABLES), _FINISH.format(**_TABLES)


def attempt_start(
    *,
    task_id: str,
    task_name: str,
    worker: str,
    ready_at: datetime.datetime | None,
    received_at: datetime.datetime | None = None,
    call: tuple[list, dict] = ([], {}),
    schedule: str | None = None,
) -> TaskAttempt | None:
    """Record that an attempt starts now; None when the task was cancelled (do not run it).

    `ready_at` is when the task could first run (queued, or its ETA): the wait is measured from it.
    `call` (the arguments) and `schedule` are recorded when the task has no result row yet.
    """
    now = timezone.now()
    wait = (now - ready_at).total_seconds() if ready_at else None
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        row = _one(
            _START,
            task_id=task_id,
            task_name=task_name,
            task_args=json.dumps(call[0]),
            task_kwargs=json.dumps(call[1]),
            schedule=schedule,
            worker=worker,
            now=now,
            received_at=received_at,
            wait=wait,
            started=states.STARTED,
            revoked=states.REVOKED,
            running=Outcome.RUNNING,
        )
        if row is None:  # cancelled
            return None
        return TaskAttempt(pk=row[0], task_id=task_id, number=row[1], started_at=now)
    with bookkeeping_transaction():
        updated = (
            TaskResult.objects.filter(task_id=task_id)
            .exclude(status=states.REVOKED)
            .update(status=states.STARTED, date_started=now, date_done=now, worker=worker)
        )
        if not updated:  # no row yet (not marked published yet, or sent outside the port)
            _, created = TaskResult.objects.get_or_create(
                task_id=task_id,
                defaults={
                    "task_name": task_name,
                    "task_args": json.dumps(call[0]),
                    "task_kwargs": json.dumps(call[1]),
                    "periodic_task_name": schedule,
                    "status": states.STARTED,
                    "date_started": now,
                    "worker": worker,
                },
            )
            if not created:
                return None
        previous = TaskAttempt.objects.filter(task_id=task_id).order_by("-number")
        attempt = TaskAttempt.objects.create(
            task_id=task_id,
            task_name=task_name,
            number=Coalesce(Subquery(previous.values("number")[:1]), Value(0)) + 1,
            worker=worker,
            received_at=received_at,
            started_at=now,
            wait_seconds=wait,
        )
        attempt.refresh_from_db(fields=["number"])  # numbered by the database
        return attempt


def attempt_finish(
    *, task_id: str, attempt: TaskAttempt | None, status: str, fields: dict[str, Any]
) -> bool:
    """Store the task's outcome on its `TaskResult` (`fields`: result, content type and
    encoding, traceback, worker) and end the attempt; False when the task has no row (the
    caller then creates it)."""
    now = timezone.now()
    end = {
        "outcome": OUTCOMES.get(status, Outcome.FAILURE),
        "runtime": (now - attempt.started_at).total_seconds() if attempt else None,
        "error": _error_summary(status, fields.get("result")),
    }
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        row = _one(
            _FINISH,
            task_id=task_id,
            attempt_id=attempt.pk if attempt else None,
            status=status,
            now=now,
            **{"worker": None, "traceback": None, **fields},
            **end,
        )
        return bool(row and row[0])
    with bookkeeping_transaction():
        updated = TaskResult.objects.filter(task_id=task_id).update(
            status=status, date_done=now, **fields
        )
        if attempt is not None:
            TaskAttempt.objects.filter(pk=attempt.pk).update(
                finished_at=now,
                outcome=end["outcome"],
                runtime_seconds=end["runtime"],
                error=end["error"],
            )
    return bool(updated)


def ready_at_from(request: Any) -> datetime.datetime | None:
    """When the task could first run: its ETA (a retry's, too), else when it was queued."""
    for value in (getattr(request, "eta", None), getattr(request, QUEUED_AT, None)):
        if isinstance(value, str):
            value = parse_datetime(value)
        if isinstance(value, datetime.datetime):
            return value if timezone.is_aware(value) else timezone.make_aware(value, datetime.UTC)
    return None


def _one(sql: str, **params: Any) -> tuple | None:
    """One statement in autocommit mode; a race on the attempt number (the same message
    delivered twice at once) is tried once more."""
    for tries_left in (1, 0):
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        except IntegrityError:
            if not tries_left:
                raise
    return None


def _error_summary(status: str, encoded_result: Any) -> str:
    if status not in (states.FAILURE, states.RETRY) or not isinstance(encoded_result, str):
        return ""
    try:
        exc = json.loads(encoded_result)
    except ValueError:
        return encoded_result[:500]
    if isinstance(exc, dict) and "exc_type" in exc:
        message = exc.get("exc_message")
        if isinstance(message, (list, tuple)):
            message = " ".join(str(part) for part in message)
        return f"{exc['exc_type']}: {message}"[:500]
    return str(exc)[:500]
