"""Reads of the task ledger (tasks_app.models.ledger) that more than one place asks."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from celery import states
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.ledger.enqueue import QueuedTask
from tasks_app.models.ledger import TaskAttempt, TaskRecord
from tasks_app.selectors.task_results import (
    STALLED,
    task_result_display_status,
    task_results_stalled_q,
)


def records_unpublished() -> QuerySet[TaskRecord]:
    """Tasks committed but not yet accepted by the broker (the outbox), cancelled ones excepted."""
    return TaskRecord.objects.filter(published_at__isnull=True, cancelled_at__isnull=True)


def record_call(record: TaskRecord) -> tuple[str, list[Any], dict[str, Any]]:
    """The task's name and arguments as the port was given them."""
    return record.task_name, json.loads(record.task_args), json.loads(record.task_kwargs)


def queued_task(record: TaskRecord) -> QueuedTask:
    """The record as the port wrote it, for publishing (the relay's)."""
    task_name, args, kwargs = record_call(record)
    return QueuedTask(
        task_id=record.result_id,
        task_name=task_name,
        args=args,
        kwargs=kwargs,
        queue=record.queue,
        eta=record.eta,
        options=record.options,
        created_at=record.created_at,
    )


# Statuses the ledger adds to Celery's: never stored, read from the record (and the clock).
QUEUED = "QUEUED"  # the broker has it (or its publish is under way); no worker has started it
WAITING = "WAITING_FOR_BROKER"  # its publish failed, or is unconfirmed after PUBLISH_GRACE
SCHEDULED = "SCHEDULED"  # queued with an ETA still in the future
CANCELLED = "CANCELLED"  # cancelled in the ledger before it ran
LEDGER_STATUSES = (QUEUED, WAITING, SCHEDULED, CANCELLED, STALLED)
# The publish mark follows the publish by a fraction of a second (tasks_app.ledger.published):
# until this long after its commit, an unmarked task whose publish did not fail reads as queued.
PUBLISH_GRACE = datetime.timedelta(seconds=5)


def task_status(result: TaskResult, *, now: datetime.datetime | None = None) -> str:
    """The status a person reads: Celery's, or one of the ledger's own (LEDGER_STATUSES).
    `result.record` must be loaded with it (select_related("record")) or absent."""
    now = now or timezone.now()
    record = result.record if _has_record(result) else None
    if record is not None and record.cancelled_at is not None:
        return CANCELLED
    if result.status == states.PENDING and record is not None:
        if record.published_at is None and (
            record.publish_failures or record.created_at < now - PUBLISH_GRACE
        ):
            return WAITING
        if record.eta is not None and record.eta > now:
            return SCHEDULED
        return QUEUED
    return task_result_display_status(result, now=now)


def task_status_q(status: str, *, now: datetime.datetime | None = None) -> Q:
    """The filter for one status as `task_status` names it (on `TaskResult`)."""
    now = now or timezone.now()
    pending = Q(status=states.PENDING, record__cancelled_at__isnull=True)
    unconfirmed = Q(record__published_at__isnull=True)
    given_up = Q(record__publish_failures__gt=0) | Q(record__created_at__lt=now - PUBLISH_GRACE)
    sent = Q(record__published_at__isnull=False) | Q(
        record__publish_failures=0, record__created_at__gte=now - PUBLISH_GRACE
    )
    if status == CANCELLED:
        return Q(record__cancelled_at__isnull=False)
    if status == WAITING:
        return pending & unconfirmed & given_up
    if status == SCHEDULED:
        return pending & sent & Q(record__eta__gt=now)
    if status == QUEUED:
        return pending & sent & (Q(record__eta__isnull=True) | Q(record__eta__lte=now))
    if status == STALLED:
        return task_results_stalled_q(now=now)
    if status == states.STARTED:
        return Q(status=states.STARTED) & ~task_results_stalled_q(now=now)
    if status == states.REVOKED:
        return Q(status=states.REVOKED, record__cancelled_at__isnull=True)
    return Q(status=status)


def task_statuses() -> list[str]:
    """Every status `task_status` can answer, for filters' choices."""
    return sorted({*states.ALL_STATES, *LEDGER_STATUSES} - {states.RECEIVED})


def task_attempts(task_id: str) -> list[TaskAttempt]:
    """A task's attempts in order; one still `running` before the last was lost (worker died)."""
    return list(TaskAttempt.objects.filter(task_id=task_id).order_by("number"))


def _has_record(result: TaskResult) -> bool:
    try:
        result.record  # noqa: B018 - loaded by select_related, or one query
    except TaskRecord.DoesNotExist:
        return False
    return True


def task_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[TaskResult]:
    """The history, newest first, each task with its record (one query per page, whatever the
    page size); `filters` as tasks_app.filters.TaskFilterSet reads them."""
    from tasks_app.filters import filter_tasks

    queryset = TaskResult.objects.select_related("record", "record__triggered_by").defer(
        "meta", "result", "traceback"
    )
    return filter_tasks(queryset=queryset, filters=filters or {}).order_by("-date_created", "-id")


def task_get(task_id: str) -> TaskResult | None:
    """The task's result row with its record; for a task whose row is not written yet (its
    publish mark is on its way: tasks_app.ledger.published), an unsaved row from its record."""
    result = (
        TaskResult.objects.select_related("record", "record__triggered_by", "record__cancelled_by")
        .filter(task_id=task_id)
        .first()
    )
    if result is not None:
        return result
    record = (
        TaskRecord.objects.select_related("triggered_by", "cancelled_by").filter(pk=task_id).first()
    )
    if record is None:
        return None
    result = record.pending_result()
    result.record = record
    return result
