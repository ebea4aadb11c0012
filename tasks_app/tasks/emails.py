"""Email tasks: thin shims over tasks_app.services.emails.

Only ids travel: `send_email(email_log_id)` instead of the seed's `send_email(to, subject, ...)`,
whose shape lives on as the service
`email_queue(to=..., subject=..., body_html=..., body_text=...)`.
So no address, name or body sits in the broker, the result table or Flower.

Each pool process keeps one SMTP connection across its emails (`services.emails.connection`) and
closes it here when the process exits.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_process_shutdown
from django.conf import settings

from accounts.emails import welcome_email_queue
from accounts.selectors import user_get
from tasks_app.services.emails.connection import mail_connection_close
from tasks_app.services.emails.delivery import EmailRetryLater, email_send
from tasks_app.services.emails.housekeeping import emails_requeue_stale
from tasks_app.services.emails.policy import (
    retry_countdown,
    send_soft_time_limit,
    send_time_limit,
)

logger = logging.getLogger(__name__)


@shared_task(
    name="tasks_app.send_email",
    bind=True,
    # A message is acknowledged after the attempt, and requeued if the worker dies mid-way.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-acks-late
    acks_late=True,
    reject_on_worker_lost=True,
    # The budget (CELERY_TASK_MAX_RETRIES) is counted in the EmailLog row by `email_send`, which
    # survives redeliveries; Celery's own counter restarts at 0 on a redelivered message.
    max_retries=None,
    default_retry_delay=settings.CELERY_TASK_DEFAULT_RETRY_DELAY,
    soft_time_limit=send_soft_time_limit(),
    time_limit=send_time_limit(),
)
def send_email(self, email_log_id: int) -> None:
    """Send the logged email. Redelivered or retried after it was sent (or cancelled): does nothing.

    Transient failures retry with exponential back-off and jitter; a permanent failure, or the last
    transient one, marks the row failed and fails the task (`EmailFailed`), without retry. Returns
    nothing: the outcome is written once, in the `EmailLog` row (whose `task_id` is this task's).
    """
    try:
        email_send(email_log_id=email_log_id)
    except EmailRetryLater as exc:
        countdown = exc.retry_after or retry_countdown(
            attempt=exc.attempts, base=self.default_retry_delay
        )
        raise self.retry(exc=exc, countdown=countdown) from None


@shared_task(
    name="tasks_app.send_welcome_email",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=60,
)
def send_welcome_email(user_id: str) -> dict:
    """Queue the user's welcome email, for messages published before `user_create` queued it
    itself and for callers of the seed's name. Redelivered, or the user was created by
    `user_create`: finds the `welcome:<user id>` row and queues nothing."""
    user = user_get(user_id=user_id)
    if user is None:
        logger.info("welcome email skipped: user %s does not exist", user_id)
        return {"status": "skipped", "user_id": user_id}
    log = welcome_email_queue(user=user)
    if log is None:
        return {"status": "skipped", "user_id": user_id}
    return {"status": "queued", "email_log_id": log.pk, "user_id": user_id}


@shared_task(name="tasks_app.requeue_stale_emails", time_limit=120)
def requeue_stale_emails(older_than_seconds: int = 900) -> dict:
    """For a beat schedule: send again what the broker lost (see `emails_requeue_stale`)."""
    count = emails_requeue_stale(older_than=timedelta(seconds=older_than_seconds))
    return {"requeued": count}


@worker_process_shutdown.connect
def close_mail_connection(**kwargs) -> None:
    """QUIT the pool process's SMTP connection as the process exits."""
    mail_connection_close()
