"""Queueing emails: record the row, then send it through a worker or, for the command, right here.

The broker carries only an `EmailLog` id; the address, subject and bodies stay in the database.
"""

from __future__ import annotations

from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from tasks_app.models import EmailLog
from tasks_app.queue import TaskQueue, get_task_queue
from tasks_app.services.emails.connection import mail_connection_close
from tasks_app.services.emails.delivery import EmailSendResult, email_send

SEND_EMAIL_TASK = "tasks_app.send_email"


def email_queue(
    *,
    to: str,
    subject: str,
    body_html: str,
    body_text: str | None = None,
    idempotency_key: str | None = None,
    task_queue: TaskQueue | None = None,
) -> EmailLog:
    """Record an email and enqueue `tasks_app.send_email` with its id (the seed's `send_email`
    signature, minus the address in the broker). With an `idempotency_key` that already has a row,
    return that row: its send was enqueued in the same transaction that created it."""
    validate_email(to)
    task_queue = task_queue or get_task_queue()
    try:
        with transaction.atomic():
            if idempotency_key:
                existing = EmailLog.objects.filter(idempotency_key=idempotency_key).first()
                if existing is not None:
                    return existing
            log = EmailLog.objects.create(
                recipient=to,
                subject=subject,
                body_html=body_html,
                body_text=body_text or "",
                idempotency_key=idempotency_key,
            )
            log.task_id = task_queue.enqueue(SEND_EMAIL_TASK, email_log_id=log.pk)
            log.save(update_fields=["task_id", "updated_at"])
    except IntegrityError:
        if not idempotency_key:
            raise
        return EmailLog.objects.get(idempotency_key=idempotency_key)  # a concurrent call won
    return log


def email_send_now(
    *, to: str, subject: str, body_html: str, body_text: str = ""
) -> EmailSendResult:
    """Record and send one email in this process, once, no retry (`manage.py send_test_email`)."""
    validate_email(to)
    log = EmailLog.objects.create(
        recipient=to, subject=subject, body_html=body_html, body_text=body_text
    )
    try:
        return email_send(email_log_id=log.pk, max_attempts=1)
    finally:
        mail_connection_close()  # a one-off: QUIT now rather than leave it to the process's exit
