"""The ledger's rows for newly queued tasks, and the marks that say the broker has them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from celery import states
from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.ledger.bookkeeping import committed_asynchronously
from tasks_app.ledger.trigger import current_trigger
from tasks_app.models.ledger import TaskRecord


def ledger_record(
    task_name: str,
    calls: Sequence[tuple[str, list[Any], dict[str, Any]]],
    *,
    queue: str,
    eta: datetime | None,
    options: dict[str, Any],
    now: datetime | None = None,
) -> list[TaskRecord]:
    """Write a PENDING `TaskResult` and a `TaskRecord` for each (task id, args, kwargs), in the
    caller's transaction: two multi-row INSERTs whatever the number of tasks."""
    now = now or timezone.now()
    trigger = current_trigger()
    user_id = trigger.resolved_user_id()
    # Beat and "run now" send a schedule's task with django-celery-beat's header naming it.
    schedule = (options.get("headers") or {}).get("periodic_task_name")
    results = [
        TaskResult(
            task_id=task_id,
            task_name=task_name,
            task_args=json.dumps(args),
            task_kwargs=json.dumps(kwargs),
            status=states.PENDING,
            periodic_task_name=schedule,
            content_type="application/json",
            content_encoding="utf-8",
        )
        for task_id, args, kwargs in calls
    ]
    records = [
        TaskRecord(
            result=result,
            queue=queue,
            eta=eta,
            options=options,
            trigger=trigger.kind,
            triggered_by_id=user_id,
            trigger_label=trigger.label,
            created_at=now,
        )
        for result in results
    ]
    # Both or neither, also when the caller is in autocommit; no savepoint inside its transaction.
    with transaction.atomic(savepoint=False):
        TaskResult.objects.bulk_create(results)
        TaskRecord.objects.bulk_create(records)
    return records


def ledger_mark_published(task_ids: Sequence[str]) -> None:
    """The broker accepted these messages: one UPDATE, committed asynchronously (one round trip).

    Losing this write (Postgres crashing within its WAL writer delay) only leaves the records
    unpublished, and the relay publishes them again: consumers are idempotent (at-least-once).
    """
    records = TaskRecord.objects.filter(result_id__in=task_ids, published_at__isnull=True)
    committed_asynchronously(records).update(published_at=timezone.now())


def ledger_mark_publish_failed(task_ids: Sequence[str], error: str) -> None:
    """The broker refused or was unreachable: the records stay for the relay, with the reason."""
    from django.db.models import F

    TaskRecord.objects.filter(result_id__in=task_ids).update(
        publish_failures=F("publish_failures") + 1, last_publish_error=error[:2000]
    )
