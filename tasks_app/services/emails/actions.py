"""What a person may do to one email: send a failed one again, or cancel a queued one.

Both change the row with a conditional UPDATE on its status, so two people acting at once (or a
worker finishing the send meanwhile) cannot both win; the loser gets the row's current status.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from project.errors import ApplicationError
from tasks_app.models import EmailLog
from tasks_app.queue import TaskQueue, get_task_queue
from tasks_app.services.emails.queueing import SEND_EMAIL_TASK


class EmailActionRefused(ApplicationError):
    """The email is not in a state the action applies to; the message says which and why."""


_WAS = {
    EmailLog.Status.QUEUED: "is queued",
    EmailLog.Status.SENT: "was sent",
    EmailLog.Status.FAILED: "failed",
    EmailLog.Status.CANCELLED: "was cancelled",
}


def email_retry(
    email_log: EmailLog, *, by: AbstractBaseUser, task_queue: TaskQueue | None = None
) -> EmailLog:
    """Send a failed email again: queued, with a fresh attempt budget and the same Message-ID (so
    a receiver that saw the first attempt can tell it is the same email), through a new
    `send_email` task enqueued in the same transaction. Raises EmailActionRefused otherwise."""
    task_queue = task_queue or get_task_queue()
    now = timezone.now()
    with transaction.atomic():
        reopened = EmailLog.objects.filter(pk=email_log.pk, status=EmailLog.Status.FAILED).update(
            status=EmailLog.Status.QUEUED,
            attempts=0,
            last_error="",
            claimed_until=None,
            retried_by=by,
            retried_at=now,
            updated_at=now,
        )
        if not reopened:
            raise _refused(email_log, "only a failed email can be retried")
        task_id = task_queue.enqueue(SEND_EMAIL_TASK, email_log_id=email_log.pk)
        EmailLog.objects.filter(pk=email_log.pk).update(task_id=task_id)
    email_log.refresh_from_db()
    return email_log


def email_cancel(email_log: EmailLog, *, by: AbstractBaseUser) -> EmailLog:
    """Cancel a queued email that no attempt is sending right now; its `send_email` task then
    finds it cancelled and does nothing. Raises EmailActionRefused otherwise."""
    now = timezone.now()
    cancelled = (
        EmailLog.objects.filter(pk=email_log.pk, status=EmailLog.Status.QUEUED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            status=EmailLog.Status.CANCELLED,
            claimed_until=None,
            cancelled_by=by,
            cancelled_at=now,
            updated_at=now,
        )
    )
    if not cancelled:
        raise _refused(email_log, "only a queued email that is not being sent can be cancelled")
    email_log.refresh_from_db()
    return email_log


def _refused(email_log: EmailLog, rule: str) -> EmailActionRefused:
    """The refusal, with the row's status as it is now (it may have changed since it was read)."""
    current = EmailLog.objects.filter(pk=email_log.pk).first()
    if current is None:
        return EmailActionRefused(f"email {email_log.pk} no longer exists")
    if current.status == EmailLog.Status.QUEUED and current.is_being_sent():
        return EmailActionRefused(f"email {current.pk} is being sent right now; {rule}")
    return EmailActionRefused(f"email {current.pk} {_WAS[current.status]}; {rule}")
