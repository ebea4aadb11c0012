"""Reads of the task ledger (tasks_app.models.ledger) that more than one place asks."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet

from tasks_app.models.ledger import TaskRecord


def records_unpublished() -> QuerySet[TaskRecord]:
    """Tasks committed but not yet accepted by the broker (the outbox), cancelled ones excepted."""
    return TaskRecord.objects.filter(published_at__isnull=True, cancelled_at__isnull=True)


def record_call(record: TaskRecord) -> tuple[str, list[Any], dict[str, Any]]:
    """The task's name and arguments as the port was given them."""
    result = record.result
    return (
        result.task_name,
        json.loads(result.task_args or "[]"),
        json.loads(result.task_kwargs or "{}"),
    )
