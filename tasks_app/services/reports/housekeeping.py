"""Reports that outlived their worker or their retention: fail them, or delete them with their
files (Django deletes rows, never the files they point to)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import states
from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.models import UserReport
from tasks_app.services.reports.export import report_tmp_path

logger = logging.getLogger(__name__)

# A running report older than the hard time limit plus this margin has lost its worker.
STALE_GRACE = timedelta(seconds=60)

Status = UserReport.Status


def reports_fail_stale(*, now: datetime | None = None) -> int:
    """Fail running reports whose worker is gone (killed, OOM, host lost); drop their partial files.

    Two facts say so. The export's task has ended while its report is still running: the task
    finishes its report before it returns, so its worker died mid-export (Celery records that
    for a pool process; tasks_app.ledger.lost for a whole worker, within a minute of it coming
    back or of its missing a ping). Or the report has run longer than the hard time limit plus
    a margin, which no live attempt can do (the pool kills it): the backstop for a report whose
    history is gone.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.REPORT_TIME_LIMIT) - STALE_GRACE
    ended = TaskResult.objects.filter(task_id=OuterRef("task_id"), status__in=states.READY_STATES)
    stale = list(
        UserReport.objects.filter(status=Status.RUNNING)
        .filter(Q(Exists(ended)) | Q(started_at__lt=cutoff))
        .values_list("pk", flat=True)
    )
    failed = 0
    for report_id in stale:
        report_tmp_path(report_id).unlink(missing_ok=True)
        failed += UserReport.objects.filter(pk=report_id, status=Status.RUNNING).update(
            status=Status.FAILED,
            finished_at=now,
            error=(
                "The worker was lost during the export (killed, out of memory, or stopped by a "
                "deploy before the export ended); its partial file was deleted. Request the "
                "report again."
            ),
        )
    if failed:
        logger.warning("marked %s running report(s) of lost workers failed", failed)
    return failed


def report_delete(*, report: UserReport) -> None:
    """Delete a report and its file."""
    if report.file:
        report.file.delete(save=False)
    report_tmp_path(report.pk).unlink(missing_ok=True)
    report.delete()


def reports_expire(*, now: datetime | None = None) -> int:
    """Delete reports (file, then row) created more than REPORT_RETENTION_DAYS ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REPORT_RETENTION_DAYS)
    expired = 0
    for report in UserReport.objects.filter(created_at__lt=cutoff).only("pk", "file").iterator():
        report_delete(report=report)
        expired += 1
    if expired:
        logger.info("expired %s report(s) older than %s", expired, cutoff.isoformat())
    return expired
