"""Report tasks: thin shims over the tasks_app.services.reports package."""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.housekeeping import reports_expire, reports_fail_stale
from tasks_app.services.reports.requests import report_fail


# The message is acknowledged on receipt (acks_late off): an export killed with its worker is not
# redelivered, because a report that kills its worker (memory, a runaway query) would be redelivered
# forever. `tasks_app.fail_stale_reports` marks such a report failed instead; see docs/reports.md.
# https://docs.celeryq.dev/en/stable/userguide/tasks.html#Task.acks_late
@shared_task(
    name="tasks_app.generate_user_report",
    bind=True,
    acks_late=False,
    soft_time_limit=settings.REPORT_SOFT_TIME_LIMIT,
    time_limit=settings.REPORT_TIME_LIMIT,
)
def generate_user_report(self, report_id: str) -> dict[str, Any]:
    """Write the report's CSV to storage; a redelivered message for a claimed report is a no-op."""
    describe = partial(_interruption_message, self)
    try:
        return report_generate(report_id=report_id, describe_failure=describe)
    except SoftTimeLimitExceeded as exc:
        # Only acts if the limit struck before the service could record it (during the claim).
        report_fail(report_id=report_id, error=describe(exc))
        raise


def _interruption_message(task: Task, exc: BaseException) -> str | None:
    if isinstance(exc, SystemExit):  # the pool process told to stop: a cold shutdown, a deploy
        return (
            "The worker was stopped during the export (a shutdown that did not wait for it); its"
            " partial file was deleted. Request the report again."
        )
    if not isinstance(exc, SoftTimeLimitExceeded):
        return None
    # The limit in force is the one in the message (the sender's settings), else the task's own.
    soft_limit = (task.request.timelimit or (None, None))[1] or task.soft_time_limit
    return (
        f"Stopped by the time limit: the export ran longer than {soft_limit:g} s and its partial"
        " file was deleted. Narrow the filters or raise REPORT_SOFT_TIME_LIMIT."
    )


@shared_task(name="tasks_app.expire_reports", time_limit=600)
def expire_reports() -> dict[str, int]:
    """Periodic: delete reports (file and row) older than REPORT_RETENTION_DAYS."""
    return {"expired": reports_expire()}


@shared_task(name="tasks_app.fail_stale_reports", time_limit=120)
def fail_stale_reports() -> dict[str, int]:
    """Periodic: fail running reports whose worker died (they would stay running forever)."""
    return {"failed": reports_fail_stale()}
