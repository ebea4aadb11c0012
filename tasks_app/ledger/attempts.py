"""What a worker writes about an attempt: when it starts and when it ends.

Two small transactions per attempt, committed asynchronously (tasks_app.ledger.bookkeeping): the
attempt's row and the task's status at the start; the result and the attempt's end at the end.
A worker killed mid-attempt leaves the attempt `running`; the redelivered message starts the next
attempt, and the history shows the earlier one as lost.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from celery import states
from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_celery_results.models import TaskResult

from tasks_app.ledger.bookkeeping import bookkeeping_transaction
from tasks_app.models.ledger import Outcome, TaskAttempt

QUEUED_AT = "ledger_queued_at"  # the message header saying when the task was queued
OUTCOMES = {
    states.SUCCESS: Outcome.SUCCESS,
    states.FAILURE: Outcome.FAILURE,
    states.RETRY: Outcome.RETRY,
    states.REVOKED: Outcome.IGNORED,
}


def attempt_start(
    *,
    task_id: str,
    task_name: str,
    worker: str,
    ready_at: datetime.datetime | None,
    received_at: datetime.datetime | None = None,
) -> TaskAttempt | None:
    """Record that an attempt starts now; None when the task was cancelled (do not run it).

    `ready_at` is when the task could first run (queued, or its ETA): the wait is measured from it.
    """
    now = timezone.now()
    with bookkeeping_transaction():
        updated = (
            TaskResult.objects.filter(task_id=task_id)
            .exclude(status=states.REVOKED)
            .update(status=states.STARTED, date_started=now, date_done=now, worker=worker)
        )
        if not updated:  # sent outside the port (no row yet), or cancelled
            _, created = TaskResult.objects.get_or_create(
                task_id=task_id,
                defaults={
                    "task_name": task_name,
                    "status": states.STARTED,
                    "date_started": now,
                    "worker": worker,
                },
            )
            if not created:
                return None
        previous = TaskAttempt.objects.filter(task_id=task_id).order_by("-number")
        return TaskAttempt.objects.create(
            task_id=task_id,
            number=Coalesce(Subquery(previous.values("number")[:1]), Value(0)) + 1,
            worker=worker,
            received_at=received_at,
            started_at=now,
            wait_seconds=(now - ready_at).total_seconds() if ready_at else None,
        )


def attempt_finish(
    *, task_id: str, attempt: TaskAttempt | None, status: str, fields: dict[str, Any]
) -> bool:
    """Store the task's outcome on its `TaskResult` (`fields`: result, content type, traceback,
    worker) and end the attempt; False when the task has no row (the caller then creates it)."""
    now = timezone.now()
    with bookkeeping_transaction():
        updated = TaskResult.objects.filter(task_id=task_id).update(
            status=status, date_done=now, **fields
        )
        if attempt is not None:
            TaskAttempt.objects.filter(pk=attempt.pk).update(
                finished_at=now,
                outcome=OUTCOMES.get(status, Outcome.FAILURE),
                runtime_seconds=(now - attempt.started_at).total_seconds(),
                error=_error_summary(status, fields.get("result")),
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
