"""Email policy: which failures are worth a retry, how long to wait, and the time limits.

`email_error_is_transient` is the one place that decides retry or not; delivery and the task ask it.
"""

from __future__ import annotations

import math
import random
import smtplib
import ssl
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

RETRY_BACKOFF_MAX = (
    600  # seconds; must stay below the Redis visibility timeout (see docs/emails.md)
)


def send_soft_time_limit() -> int:
    """Seconds one attempt may take: a few SMTP round trips, each bounded by EMAIL_TIMEOUT."""
    return math.ceil(settings.EMAIL_TIMEOUT * 3)


def send_time_limit() -> int:
    return send_soft_time_limit() + 5


def claim_lease() -> timedelta:
    """Longer than the hard time limit, so a lease outlives any attempt that still runs."""
    return timedelta(seconds=send_time_limit() + 5)


def email_max_attempts() -> int:
    """Attempts per email, counted in its row so that the budget survives redeliveries."""
    return settings.CELERY_TASK_MAX_RETRIES + 1


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
