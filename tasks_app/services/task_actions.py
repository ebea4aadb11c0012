"""Retry and cancel a task as its domain understands them: the one service behind the history
admin's actions, `POST /api/tasks/{id}/retry|cancel/` and `manage.py tasks retry|cancel`.

Retrying sends the work again, not merely the message: a failed email's log row is queued again
(its own attempt budget, the same Message-ID), a failed report is generated again with the same
filters, a housekeeping task runs again. Cancelling marks the task in the ledger (its worker then
refuses to run it, tasks_app.ledger.task) and its domain row (a queued email, a pending report).
Anything else is refused with the reason: no action reports success for what did not happen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from celery import states
from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult

from project.errors import ApplicationError
from tasks_app.ledger.published import ledger_results_create
from tasks_app.ledger.trigger import task_trigger
from tasks_app.models.ledger import TaskRecord, Trigger
from tasks_app.queue import TaskQueue, get_task_queue
from tasks_app.selectors.ledger import task_status
from tasks_app.selectors.task_results import task_result_arguments

logger = logging.getLogger(__name__)


class TaskActionRefused(ApplicationError):
    """The action cannot be done; the message says why (the API answers 409)."""

    status_code = 409


@dataclass(frozen=True)
class ActionDone:
    message: str
    task_id: str | None = None  # the retry's new task


# Tasks whose run is complete in itself (no domain row to reset): a retry runs them again.
RERUNNABLE = frozenset(
    {
        "tasks_app.cleanup_sessions",
        "tasks_app.expire_reports",
        "tasks_app.expire_task_history",
        "tasks_app.fail_lost_tasks",
        "tasks_app.fail_stale_reports",
        "tasks_app.ping",
        "tasks_app.relay_outbox",
        "tasks_app.requeue_stale_emails",
        "tasks_app.send_welcome_email",
    }
)
CANCELLABLE = frozenset({states.PENDING, states.RETRY})


def task_retry(*, result: TaskResult, by=None, task_queue: TaskQueue | None = None) -> ActionDone:
    """Do a failed task's work again; the new task is triggered by `by` as a retry."""
    if result.status != states.FAILURE:
        raise TaskActionRefused(
            f"Task {result.task_id} is {task_status(result)}; only a failed task can be retried."
        )
    try:
        args, kwargs = task_result_arguments(result)
    except ValueError as exc:
        raise TaskActionRefused(str(exc)) from exc
    domain_retry = _DOMAIN_RETRY.get(result.task_name or "")
    with task_trigger(Trigger.RETRY, user=by, label=f"retry of {result.task_id}"):
        if domain_retry is not None:
            return domain_retry(args, kwargs, by)
        if result.task_name in RERUNNABLE:
            queue = TaskRecord.objects.filter(pk=result.task_id).values_list("queue", flat=True)
            new_id = (task_queue or get_task_queue()).enqueue(
                result.task_name, *args, queue=queue.first() or None, **kwargs
            )
            return ActionDone(f"{result.task_name} queued again as task {new_id}.", new_id)
    raise TaskActionRefused(f"{result.task_name or 'A task without a name'} has no retry.")


def task_cancel(*, result: TaskResult, by=None) -> ActionDone:
    """Stop a task that has not started (queued, waiting for the broker, or for a retry's
    countdown) from running, and record who cancelled it."""
    now = timezone.now()
    with transaction.atomic():
        ledger_results_create([result.task_id])  # a task queued a moment ago may have none yet
        # Conditional, so a worker starting it at this moment either wins or sees it cancelled.
        cancelled = TaskResult.objects.filter(
            task_id=result.task_id, status__in=CANCELLABLE
        ).update(status=states.REVOKED, date_done=now)
        if not cancelled:  # `result` may be the unsaved row of a task queued a moment ago
            current = TaskResult.objects.get(task_id=result.task_id)
            raise TaskActionRefused(
                f"Task {result.task_id} is {task_status(current)}; only a task that has not "
                "started can be cancelled."
            )
        TaskRecord.objects.filter(pk=result.task_id).update(cancelled_at=now, cancelled_by=by)
        domain_cancel = _DOMAIN_CANCEL.get(result.task_name or "")
        if domain_cancel is not None:
            args, kwargs = task_result_arguments(result)
            domain_cancel(args, kwargs, by)
    _revoke(result.task_id)
    return ActionDone(f"Task {result.task_id} cancelled.")


def _revoke(task_id: str) -> None:
    """Also tell the workers now: one holding the message (an ETA, a retry's countdown) drops
    it. Best effort: a worker that never hears it still refuses the task at its start."""
    from project.celery import app

    try:
        app.control.revoke(task_id)
    except Exception as exc:  # the ledger has it; a broker hiccup must not undo the cancel
        logger.warning("revoke of cancelled task %s not broadcast: %r", task_id, exc)


def _row(model_name: str, key: str, args: list, kwargs: dict):
    """The domain row a task works on, by the id it was queued with (`key`, or its first
    argument); refused when it is gone."""
    from django.apps import apps

    pk = kwargs.get(key) or (args[0] if args else None)
    row = apps.get_model("tasks_app", model_name).objects.filter(pk=pk).first() if pk else None
    if row is None:
        raise TaskActionRefused(f"The {model_name} {pk} of this task no longer exists.")
    return row


@contextmanager
def _domain_refusals():
    """A domain's refusal (not in that state any more, not this user's) is the action's."""
    try:
        yield
    except ApplicationError as exc:
        raise TaskActionRefused(exc.message) from exc


def _retry_report(args: list, kwargs: dict, by) -> ActionDone:
    """The same report row generated again with its filters (tasks_app.services.reports)."""
    from tasks_app.services.reports.actions import report_retry

    with _domain_refusals():
        report = report_retry(report=_row("UserReport", "report_id", args, kwargs), by=by)
    return ActionDone(
        f"Report {report.pk} is generated again as task {report.task_id}.", report.task_id
    )


def _cancel_report(args: list, kwargs: dict, by) -> None:
    from tasks_app.services.reports.actions import report_cancel

    with _domain_refusals():
        report_cancel(report=_row("UserReport", "report_id", args, kwargs), by=by)


def _retry_email(args: list, kwargs: dict, by) -> ActionDone:
    """The same email log row queued again: a fresh attempt budget, the same Message-ID."""
    from tasks_app.services.emails.actions import email_retry

    with _domain_refusals():
        email_log = email_retry(_row("EmailLog", "email_log_id", args, kwargs), by=by)
    return ActionDone(
        f"Email {email_log.pk} is sent again as task {email_log.task_id}.", email_log.task_id
    )


def _cancel_email(args: list, kwargs: dict, by) -> None:
    from tasks_app.services.emails.actions import email_cancel

    with _domain_refusals():
        email_cancel(_row("EmailLog", "email_log_id", args, kwargs), by=by)


_DomainAction = Callable[[list, dict, object], ActionDone]
_DOMAIN_RETRY: dict[str, _DomainAction] = {
    "tasks_app.generate_user_report": _retry_report,
    "tasks_app.send_email": _retry_email,
}
_DOMAIN_CANCEL: dict[str, Callable[[list, dict, object], None]] = {
    "tasks_app.generate_user_report": _cancel_report,
    "tasks_app.send_email": _cancel_email,
}
