"""Emails: queue a row, send it once, and decide in one place which failures are worth a retry.

The broker carries only an `EmailLog` id; the address, subject and bodies stay in the database.
Exceptions and log lines name the row and the SMTP code, never the address, because Celery copies
exceptions into the result table and Flower.
"""

from __future__ import annotations

import logging
import math
import random
import smtplib
import ssl
from dataclasses import asdict, dataclass
from datetime import timedelta
from html import unescape
from typing import NoReturn

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import strip_tags

from tasks_app.models import EmailLog
from tasks_app.queue import TaskQueue, get_task_queue

logger = logging.getLogger(__name__)

SEND_EMAIL_TASK = "tasks_app.send_email"
WELCOME_SUBJECT = "Welcome to Our Platform!"
RETRY_BACKOFF_MAX = (
    600  # seconds; must stay below the Redis visibility timeout (see docs/emails.md)
)


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
    status: str  # sent | already_sent | already_failed | missing
    attempts: int

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


def send_soft_time_limit() -> int:
    """Seconds one attempt may take: a few SMTP round trips, each bounded by EMAIL_TIMEOUT."""
    return math.ceil(settings.EMAIL_TIMEOUT * 3)


def send_time_limit() -> int:
    return send_soft_time_limit() + 5


def claim_lease() -> timedelta:
    """Longer than the hard time limit, so a lease outlives any attempt that still runs."""
    return timedelta(seconds=send_time_limit() + 5)


def email_error_is_transient(exc: BaseException) -> bool:
    """The one place that decides: True for failures a later attempt may not meet again.

    Transient: connection errors, timeouts, a dropped connection, SMTP 4xx (including a 4xx to
    RCPT, which is how greylisting answers). Permanent: SMTP 5xx, a recipient refused with 5xx, a
    failed login, TLS/certificate problems, anything else (a bug is not fixed by retrying).
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPException | ssl.SSLError | ssl.CertificateError):
        return False  # e.g. STARTTLS not offered, no usable AUTH method, a bad certificate
    return isinstance(exc, OSError | SoftTimeLimitExceeded)  # refused, reset, DNS, timeouts


def retry_countdown(*, attempt: int, base: float, cap: float = RETRY_BACKOFF_MAX) -> float:
    """Exponential back-off with "equal jitter": base * 2**(attempt-1), then a random point in the
    upper half of that step, so many failed emails spread out but none comes back too soon."""
    step = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(step / 2, step)


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


def email_send(*, email_log_id: int, max_attempts: int | None = None) -> EmailSendResult:
    """Send one logged email, at most once as far as this side can know.

    The attempt is claimed with a conditional UPDATE (status queued, no live lease). A row already
    sent or failed is left alone, so a redelivered or retried task does nothing. A row whose lease
    another attempt holds raises `EmailRetryLater` until that lease expires. Attempts are counted
    in the row, so the retry budget survives redeliveries. Raises EmailRetryLater or EmailFailed.
    """
    if max_attempts is None:
        max_attempts = settings.CELERY_TASK_MAX_RETRIES + 1
    now = timezone.now()
    claimed = (
        EmailLog.objects.filter(pk=email_log_id, status=EmailLog.Status.QUEUED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(attempts=F("attempts") + 1, claimed_until=now + claim_lease(), updated_at=now)
    )
    log = EmailLog.objects.filter(pk=email_log_id).first()
    if log is None:
        logger.info("email %s skipped: the log row is gone", email_log_id)
        return EmailSendResult(email_log_id, "missing", 0)
    if not claimed:
        if log.status != EmailLog.Status.QUEUED:
            logger.info("email %s skipped: already %s", log.pk, log.status)
            return EmailSendResult(log.pk, f"already_{log.status}", log.attempts)
        wait = (log.claimed_until - now).total_seconds() + 1 if log.claimed_until else None
        raise EmailRetryLater(
            log.pk, "another attempt holds the lease", attempts=log.attempts, retry_after=wait
        )
    # The connection is opened here, so that "sent" is recorded as soon as the server accepts the
    # message and before QUIT: the window in which a dying worker leaves a delivered email
    # marked queued (and a redelivery sends it again) is one UPDATE, not an extra round trip.
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
        connection.send_messages([_message(log, connection)])
    except Exception as exc:
        _close_quietly(connection)
        _record_failure(log, exc, max_attempts=max_attempts)
    EmailLog.objects.filter(pk=log.pk, status=EmailLog.Status.QUEUED).update(
        status=EmailLog.Status.SENT,
        sent_at=timezone.now(),
        claimed_until=None,
        last_error="",
        updated_at=timezone.now(),
    )
    _close_quietly(connection)
    logger.info("email %s sent (attempt %s)", log.pk, log.attempts)
    return EmailSendResult(log.pk, "sent", log.attempts)


def _close_quietly(connection: BaseEmailBackend) -> None:
    """QUIT after the outcome is decided: a failing QUIT changes nothing about the message."""
    try:
        connection.close()
    except Exception:
        logger.debug("closing the mail connection failed", exc_info=True)


def emails_requeue_stale(
    *, older_than: timedelta, limit: int = 1000, task_queue: TaskQueue | None = None
) -> int:
    """Enqueue `send_email` again for rows still queued, unclaimed and untouched for `older_than`.

    The row, not the broker, is the record of what must be sent. Redis can lose a message: a
    worker pops it (BRPOP) before recording it as unacknowledged, so a SIGKILL in between loses
    it, and a Redis restarted without persistence loses all. Safe because `email_send` is
    idempotent; `older_than` must exceed the longest retry back-off (RETRY_BACKOFF_MAX) plus the
    usual queue wait, or busy rows get a second (harmless, wasted) message.
    """
    task_queue = task_queue or get_task_queue()
    now = timezone.now()
    stale = (
        EmailLog.objects.filter(status=EmailLog.Status.QUEUED, updated_at__lt=now - older_than)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(stale)
    with transaction.atomic():
        for pk in ids:
            task_id = task_queue.enqueue(SEND_EMAIL_TASK, email_log_id=pk)
            EmailLog.objects.filter(pk=pk).update(task_id=task_id, updated_at=now)
    if ids:
        logger.warning("requeued %s stale emails (first id %s)", len(ids), ids[0])
    return len(ids)


def email_mark_failed(*, email_log_id: int, reason: str) -> None:
    """Record a failure decided outside `email_send` (e.g. the task ran out of time for good)."""
    EmailLog.objects.filter(pk=email_log_id, status=EmailLog.Status.QUEUED).update(
        status=EmailLog.Status.FAILED,
        claimed_until=None,
        last_error=reason[:2000],
        updated_at=timezone.now(),
    )


def email_send_now(
    *, to: str, subject: str, body_html: str, body_text: str = ""
) -> EmailSendResult:
    """Record and send one email in this process, once, no retry (`manage.py send_test_email`)."""
    validate_email(to)
    log = EmailLog.objects.create(
        recipient=to, subject=subject, body_html=body_html, body_text=body_text
    )
    return email_send(email_log_id=log.pk, max_attempts=1)


def welcome_email_queue(*, user_id: str, task_queue: TaskQueue | None = None) -> EmailLog | None:
    """Queue the welcome email of a user once (keyed by the user id); skip a gone or inactive user.

    Templates render with autoescaping, so a username like `<script>` is text in the HTML part.
    """
    from accounts.models import User

    try:
        user = User.objects.filter(pk=user_id).first()
    except ValidationError:  # not a UUID: no such user
        user = None
    if user is None:
        logger.info("welcome email skipped: user %s does not exist", user_id)
        return None
    if not user.is_active:
        logger.info("welcome email skipped: user %s is inactive", user_id)
        return None
    context = {"username": user.username}
    return email_queue(
        to=user.email,
        subject=WELCOME_SUBJECT,
        body_html=render_to_string("emails/welcome.html", context),
        body_text=render_to_string("emails/welcome.txt", context),
        idempotency_key=f"welcome:{user.pk}",
        task_queue=task_queue,
    )


def _message(log: EmailLog, connection: BaseEmailBackend) -> EmailMultiAlternatives:
    text = log.body_text or unescape(strip_tags(log.body_html))
    message = EmailMultiAlternatives(
        subject=log.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[log.recipient],
        headers={"Message-ID": log.message_id},
        connection=connection,
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
