"""Delivering one logged email: claim the row, send the message, record the outcome.

Exceptions and log lines name the row and the SMTP code, never the address, because Celery copies
exceptions into the result table and Flower.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from typing import NoReturn

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection as db
from django.utils import timezone
from django.utils.html import strip_tags

from tasks_app.models import EmailLog
from tasks_app.services.emails.connection import mail_send
from tasks_app.services.emails.policy import (
    claim_lease,
    email_error_is_transient,
    email_max_attempts,
)

logger = logging.getLogger(__name__)


class EmailDeliveryError(Exception):
    """An attempt did not deliver. The message names the row and the cause, never the address.

    All state is in `args`, so the exception pickles (the prefork pool sends it to its parent).
    """

    def __init__(self, email_log_id: int, reason: str, *extra: object) -> None:
        super().__init__(email_log_id, reason, *extra)
        self.email_log_id = email_log_id
        self.reason = reason

    def __str__(self) -> str:
        return f"email {self.email_log_id}: {self.reason}"


class EmailRetryLater(EmailDeliveryError):
    """Transient: try again later (after `retry_after` seconds when it is known)."""

    def __init__(
        self, email_log_id: int, reason: str, attempts: int, retry_after: float | None = None
    ) -> None:
        super().__init__(email_log_id, reason, attempts, retry_after)
        self.attempts = attempts
        self.retry_after = retry_after


class EmailFailed(EmailDeliveryError):
    """Permanent, or transient too many times: the row is marked failed; do not retry."""


@dataclass(frozen=True)
class EmailSendResult:
    email_log_id: int
    status: str  # sent | already_sent | already_failed | already_cancelled | missing
    attempts: int


def email_send(*, email_log_id: int, max_attempts: int | None = None) -> EmailSendResult:
    """Send one logged email, at most once as far as this side can know.

    The attempt is claimed with a conditional UPDATE (status queued, no live lease). A row already
    sent or failed is left alone, so a redelivered or retried task does nothing. A row whose lease
    another attempt holds raises `EmailRetryLater` until that lease expires. Attempts are counted
    in the row, so the retry budget survives redeliveries. Raises EmailRetryLater or EmailFailed.
    """
    if max_attempts is None:
        max_attempts = email_max_attempts()
    now = timezone.now()
    log = _claim(email_log_id, now=now)
    if log is None:
        log = EmailLog.objects.filter(pk=email_log_id).first()
        if log is None:
            logger.info("email %s skipped: the log row is gone", email_log_id)
            return EmailSendResult(email_log_id, "missing", 0)
        if log.status != EmailLog.Status.QUEUED:
            logger.info("email %s skipped: already %s", log.pk, log.status)
            return EmailSendResult(log.pk, f"already_{log.status}", log.attempts)
        wait = (log.claimed_until - now).total_seconds() + 1 if log.claimed_until else None
        raise EmailRetryLater(
            log.pk, "another attempt holds the lease", attempts=log.attempts, retry_after=wait
        )
    # "sent" is recorded as soon as the server accepts the message: the window in which a dying
    # worker leaves a delivered email marked queued (and a redelivery sends it again) is one
    # UPDATE. The connection stays open for the process's next email (see `connection.py`).
    try:
        mail_send(_message(log))
    except Exception as exc:
        _record_failure(log, exc, max_attempts=max_attempts)
    _mark_sent(log.pk, now=timezone.now())
    logger.info("email %s sent (attempt %s)", log.pk, log.attempts)
    return EmailSendResult(log.pk, "sent", log.attempts)


# What a send reads of the row, in the model's order (as `Model.from_db` takes them, and as the
# claim returns them); the other fields are deferred, as with `.only()`.
_SEND_FIELDS = ("id", "recipient", "subject", "body_text", "body_html", "attempts", "message_id")


def _claim(email_log_id: int, *, now: datetime) -> EmailLog | None:
    """Claim the row and read what the send needs in one statement; None when it is not
    claimable (or gone).

    `UPDATE ... RETURNING` (Postgres, SQLite 3.35+), in SQL of its own, because the claim is on
    every email's path: the ORM's `update()` returns only a count (the claim plus a SELECT was a
    third of the statements per email), and a raw queryset costs more CPU than the statement.
    """
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_app_emaillog"
            " SET attempts = attempts + 1, claimed_until = %s, updated_at = %s"
            " WHERE id = %s AND status = %s AND (claimed_until IS NULL OR claimed_until < %s)"
            " RETURNING id, recipient, subject, body_text, body_html, attempts, message_id",
            [
                _db_value("claimed_until", now + claim_lease()),
                _db_value("updated_at", now),
                email_log_id,
                EmailLog.Status.QUEUED,
                _db_value("claimed_until", now),
            ],
        )
        row = cursor.fetchone()
    return None if row is None else EmailLog.from_db(db.alias, _SEND_FIELDS, row)


def _mark_sent(email_log_id: int, *, now: datetime) -> None:
    """Record the delivery: the row's one other write on every email's path, in SQL of its own
    (the ORM's `update()` costs more CPU than the statement)."""
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_app_emaillog"
            " SET status = %s, sent_at = %s, claimed_until = NULL, last_error = '', updated_at = %s"
            " WHERE id = %s AND status = %s",
            [
                EmailLog.Status.SENT,
                _db_value("sent_at", now),
                _db_value("updated_at", now),
                email_log_id,
                EmailLog.Status.QUEUED,
            ],
        )


def _db_value(name: str, value: object) -> object:
    """`value` as the database takes it for EmailLog's field `name` (a datetime on SQLite)."""
    return EmailLog._meta.get_field(name).get_db_prep_value(value, db)


def email_mark_failed(*, email_log_id: int, reason: str) -> None:
    """Close a queued row as failed; a row already sent or failed keeps its outcome."""
    EmailLog.objects.filter(pk=email_log_id, status=EmailLog.Status.QUEUED).update(
        status=EmailLog.Status.FAILED,
        claimed_until=None,
        last_error=reason[:2000],
        updated_at=timezone.now(),
    )


def _message(log: EmailLog) -> EmailMultiAlternatives:
    text = log.body_text or unescape(strip_tags(log.body_html))
    message = EmailMultiAlternatives(
        subject=log.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[log.recipient],
        headers={"Message-ID": log.message_id},
    )
    if log.body_html:
        message.attach_alternative(log.body_html, "text/html")
    return message


def _describe(exc: BaseException) -> str:
    """What went wrong, without the server's text (which may quote the address)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"recipient refused (SMTP {', '.join(map(str, codes))})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} (SMTP {exc.smtp_code})"
    return type(exc).__name__


def _server_said(exc: BaseException) -> str:
    """The full answer, for the log row only (it may quote the address)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address}: {code} {_text(reply)}" for address, (code, reply) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _record_failure(log: EmailLog, exc: Exception, *, max_attempts: int) -> NoReturn:
    """Release or close the row, then raise the right error (without the address in its chain)."""
    detail = f"{_describe(exc)}: {_server_said(exc)}"[:2000]
    if email_error_is_transient(exc) and log.attempts < max_attempts:
        EmailLog.objects.filter(pk=log.pk, status=EmailLog.Status.QUEUED).update(
            claimed_until=None, last_error=detail, updated_at=timezone.now()
        )
        logger.warning(
            "email %s attempt %s failed, will retry: %s", log.pk, log.attempts, _describe(exc)
        )
        raise EmailRetryLater(log.pk, _describe(exc), attempts=log.attempts) from None
    if email_error_is_transient(exc):
        reason = f"gave up after {log.attempts} attempts: {_describe(exc)}"
    else:
        reason = f"permanent failure: {_describe(exc)}"
    email_mark_failed(email_log_id=log.pk, reason=f"{reason}; server said: {_server_said(exc)}")
    logger.warning("email %s failed: %s", log.pk, reason)
    raise EmailFailed(log.pk, reason) from None
