"""The retry policy: which failures are transient and the back-off between attempts (pure logic)."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from tasks_app.services.emails.policy import email_error_is_transient, retry_countdown


def refused(code: int) -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused({"ada@example.com": (code, b"no")})


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError("timed out"), True),
        (socket.gaierror(-3, "Temporary failure in name resolution"), True),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), True),
        (smtplib.SMTPConnectError(421, b"Too busy"), True),
        (smtplib.SMTPDataError(451, b"Try later"), True),
        (smtplib.SMTPSenderRefused(452, b"Insufficient storage", "a@b.c"), True),
        (refused(450), True),
        (SoftTimeLimitExceeded(), True),
        (smtplib.SMTPDataError(554, b"Spam"), False),
        (smtplib.SMTPSenderRefused(553, b"Not allowed", "a@b.c"), False),
        (refused(550), False),
        (smtplib.SMTPAuthenticationError(535, b"Bad credentials"), False),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), False),
        (ssl.SSLCertVerificationError("certificate verify failed"), False),
        (smtplib.SMTPException("No suitable authentication method found."), False),
        (ValueError("a bug"), False),
    ],
)
def test_transient_or_permanent_is_decided_by_the_error(exc, transient):
    assert email_error_is_transient(exc) is transient


def test_retry_countdown_grows_exponentially_with_jitter_and_a_cap():
    for attempt, (low, high) in enumerate([(30, 60), (60, 120), (120, 240), (240, 480)], start=1):
        delays = {retry_countdown(attempt=attempt, base=60) for _ in range(50)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1
    assert retry_countdown(attempt=20, base=60) <= 600
