"""The ledger's record of newly queued tasks, written in the caller's transaction.

One INSERT, whatever the number of tasks, sent with the caller's COMMIT (project.postgres: no
round trip of its own); the caller's transaction pays the statement and the record's index
entries (its primary key, the relay's small index of unpublished records). The task's
`TaskResult` row is written later, off the caller's path (tasks_app.ledger.published).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from tasks_app.ledger.trigger import current_trigger
from tasks_app.models.ledger import TaskRecord


@dataclass(frozen=True)
class QueuedTask:
    """A task as the port recorded it: what is sent to the broker, after commit or by the relay."""

    task_id: str
    task_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    queue: str
    eta: datetime | None
    options: dict[str, Any]
    created_at: datetime


def ledger_record(
    task_name: str,
    calls: Sequence[tuple[str, list[Any], dict[str, Any]]],
    *,
    queue: str,
    eta: datetime | None,
    options: dict[str, Any],
    now: datetime | None = None,
) -> list[QueuedTask]:
    """Write a `TaskRecord` for each (task id, args, kwargs), in the caller's transaction."""
    now = now or timezone.now()
    trigger = current_trigger()
    user_id = trigger.resolved_user_id()
    # Beat and "run now" send a schedule's task with django-celery-beat's header naming it.
    schedule = (options.get("headers") or {}).get("periodic_task_name") or ""
    values = {
        "task_name": task_name,
        "schedule": schedule,
        "queue": queue,
        "eta": eta,
        "options": options,
        "trigger": trigger.kind,
        "triggered_by_id": user_id,
        "trigger_label": trigger.label,
        "created_at": now,
    }
    if connection.vendor == "postgresql":
        _insert(values, calls)
    else:
        TaskRecord.objects.bulk_create(
            TaskRecord(
                result_id=task_id,
                task_args=json.dumps(args),
                task_kwargs=json.dumps(kwargs),
                **values,
            )
            for task_id, args, kwargs in calls
        )
    return [
        QueuedTask(task_id, task_name, args, kwargs, queue, eta, options, now)
        for task_id, args, kwargs in calls
    ]


# On Postgres as SQL of its own: the ORM's own work would cost the caller more than the
# statement. Plain VALUES rows (quicker to plan than a SELECT over arrays), at most
# `_ROWS_PER_INSERT` per statement (Postgres takes 65,535 parameters).
_INSERT = """
INSERT INTO {records} (task_id, task_args, task_kwargs, task_name, schedule, queue, eta, options,
    trigger, triggered_by_id, trigger_label, created_at, publish_failures, last_publish_error)
VALUES {rows}
"""
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '')"
_ROWS_PER_INSERT = 5000


@functools.cache
def _insert_sql(rows: int) -> str:
    return _INSERT.format(records=TaskRecord._meta.db_table, rows=", ".join([_ROW] * rows))


def _insert(values: dict[str, Any], calls: Sequence[tuple[str, list, dict]]) -> None:
    shared = (
        values["task_name"],
        values["schedule"],
        values["queue"],
        values["eta"],
        json.dumps(values["options"], cls=DjangoJSONEncoder),
        values["trigger"],
        values["triggered_by_id"],
        values["trigger_label"],
        values["created_at"],
    )
    for start in range(0, len(calls), _ROWS_PER_INSERT):
        chunk = calls[start : start + _ROWS_PER_INSERT]
        params = []
        for task_id, args, kwargs in chunk:
            params += (task_id, json.dumps(args), json.dumps(kwargs), *shared)
        _execute_with_commit(_insert_sql(len(chunk)), params)


def _execute_with_commit(sql: str, params: list[Any]) -> None:
    """With the caller's COMMIT where the backend can (project.postgres), else now."""
    execute_with_commit = getattr(connection, "execute_with_commit", None)
    if execute_with_commit is not None:
        execute_with_commit(sql, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
