"""What an operator can do to a report after asking for it: generate a failed one again, or cancel
one that no worker has started. The same row is kept in both cases, so the report's URL, admin page
and download link stay those the requester already has; the task history keeps every attempt.

Both are conditional UPDATEs on the status (healthchecks' claim), so they race safely with the
worker's own claim (pending -> running): whichever writes first wins, and the other is refused.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from project.errors import ApplicationError, PermissionDeniedError
from tasks_app.models import UserReport
from tasks_app.queue import TaskQueue, get_task_queue
from tasks_app.services.reports.requests import REPORT_TASK

logger = logging.getLogger(__name__)

Status = UserReport.Status

# Who may act on any report: whoever may request reports (the admin and the API ask the same).
REPORTS_PERMISSION = "tasks_app.add_userreport"


class ReportActionRefused(ApplicationError):
    """The report's state does not allow the action (the API answers 409)."""

    status_code = 409


def report_retry(
    *, report: UserReport, by: Any | None, task_queue: TaskQueue | None = None
) -> UserReport:
    """Generate a failed report again with the same filters: the row goes back to pending (its
    progress, times, error and file cleared, `retries` counted) and a new export is enqueued
    through the task-queue port, published after commit. Any other status is refused."""
    queue = task_queue or get_task_queue()
    with transaction.atomic():
        reset = UserReport.objects.filter(pk=report.pk, status=Status.FAILED).update(
            status=Status.PENDING,
            error="",
            rows_written=0,
            total_rows=None,
            row_count=None,
            file="",
            started_at=None,
            finished_at=None,
            retries=F("retries") + 1,
        )
        if not reset:
            raise ReportActionRefused(_refusal(report, "only a failed report can be retried"))
        task_id = queue.enqueue(REPORT_TASK, report_id=str(report.pk))
        UserReport.objects.filter(pk=report.pk).update(task_id=task_id)
    logger.info("report %s retried by %s as task %s", report.pk, _who(by), task_id)
    report.refresh_from_db()
    return report


def report_cancel(*, report: UserReport, by: Any | None) -> UserReport:
    """Cancel a report no worker has started, recording who and when; the worker's claim then
    finds it no longer pending and skips it. Its requester may cancel it, and so may anyone who
    may request reports; any status but pending is refused."""
    if not _may_cancel(user=by, report=report):
        raise PermissionDeniedError("Only its requester or a reports admin can cancel a report.")
    cancelled = UserReport.objects.filter(pk=report.pk, status=Status.PENDING).update(
        status=Status.CANCELLED, cancelled_by=by, cancelled_at=timezone.now()
    )
    if not cancelled:
        raise ReportActionRefused(_refusal(report, "only a pending report can be cancelled"))
    logger.info("report %s cancelled by %s", report.pk, _who(by))
    report.refresh_from_db()
    return report


def _may_cancel(*, user: Any, report: UserReport) -> bool:
    if user is None:  # an operator's command (`manage.py tasks cancel`)
        return True
    return report.requested_by_id == user.pk or (
        user.is_staff and user.has_perm(REPORTS_PERMISSION)
    )


def _refusal(report: UserReport, rule: str) -> str:
    """`report 1a2b3c4d is running; only a failed report can be retried` (the status read now,
    not the caller's possibly stale copy)."""
    status = UserReport.objects.filter(pk=report.pk).values_list("status", flat=True).first()
    return f"report {str(report.pk)[:8]} is {status or 'deleted'}; {rule}"


def _who(user: Any | None) -> str:
    return getattr(user, "username", None) or "a command"
