"""Emails, by concern: `queueing` (record a row and enqueue its send), `delivery` (claim, send,
record the outcome), `connection` (one SMTP connection per process), `policy` (retry or not,
back-off, time limits), `actions` (a person retries or cancels one) and `housekeeping` (requeue
what the broker lost). What an email says belongs to the app that sends it (the welcome email is
`accounts.emails`); this package only delivers.

The names below are the package's public interface, so `from tasks_app.services.emails import
email_queue` keeps working.
"""

from tasks_app.services.emails.actions import EmailActionRefused, email_cancel, email_retry
from tasks_app.services.emails.delivery import (
    EmailDeliveryError,
    EmailFailed,
    EmailRetryLater,
    EmailSendResult,
    email_mark_failed,
    email_send,
)
from tasks_app.services.emails.housekeeping import emails_requeue_stale
from tasks_app.services.emails.policy import email_error_is_transient, retry_countdown
from tasks_app.services.emails.queueing import SEND_EMAIL_TASK, email_queue, email_send_now

__all__ = [
    "SEND_EMAIL_TASK",
    "EmailActionRefused",
    "EmailDeliveryError",
    "EmailFailed",
    "EmailRetryLater",
    "EmailSendResult",
    "email_cancel",
    "email_error_is_transient",
    "email_mark_failed",
    "email_queue",
    "email_retry",
    "email_send",
    "email_send_now",
    "emails_requeue_stale",
    "retry_countdown",
]
