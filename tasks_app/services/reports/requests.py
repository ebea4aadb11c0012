"""Asking for a report: a pending row with validated filters, its export enqueued after commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from accounts.filters import user_filters_validate
from tasks_app.models import UserReport
from tasks_app.queue import TaskQueue, get_task_queue

REPORT_TASK = "tasks_app.generate_user_report"

Status = UserReport.Status


def report_create(*, requested_by: Any | None, filters: Mapping[str, Any] | None) -> UserReport:
    """A pending report row; nothing is enqueued (the foreground command runs it itself).

    The filters are stored as UserFilterSet's JSON data, so that the export applies the same
    FilterSet; a bad or unknown filter is a ValidationError naming it, and nothing is written.
    """
    return UserReport.objects.create(
        requested_by=requested_by, filters=user_filters_validate(filters)
    )


def report_request(
    *,
    requested_by: Any | None,
    filters: Mapping[str, Any] | None,
    task_queue: TaskQueue | None = None,
) -> UserReport:
    """Create the report row and enqueue its export; the message is published after commit.

    Validation happens first, so a bad filter never leaves a row or a message behind.
    """
    queue = task_queue or get_task_queue()
    with transaction.atomic():
        report = report_create(requested_by=requested_by, filters=filters)
        report.task_id = queue.enqueue(REPORT_TASK, report_id=str(report.pk))
        report.save(update_fields=["task_id"])
    return report


def report_fail(*, report_id: UUID | str, error: str) -> bool:
    """Mark a pending or running report failed; False if it had already finished or failed."""
    _reconnect_if_interrupted()
    return bool(
        UserReport.objects.filter(pk=report_id, status__in=[Status.PENDING, Status.RUNNING]).update(
            status=Status.FAILED, error=error, finished_at=timezone.now()
        )
    )


def _reconnect_if_interrupted() -> None:
    """A time limit can interrupt a query mid-flight and leave the connection busy; start afresh."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()
