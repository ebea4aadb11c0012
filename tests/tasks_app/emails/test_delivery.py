"""Delivery of one logged email: claim, send, record the outcome (Django's locmem backend; the
broker, worker and SMTP server are in test_pipeline.py)."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tasks_app.models import EmailLog
from tasks_app.services.emails.delivery import EmailFailed, EmailRetryLater, email_send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def queued(**overrides) -> EmailLog:
    return EmailLog.objects.create(
        **{"recipient": "ada@example.com", "subject": "Hi", "body_html": "<p>Hi</p>", **overrides}
    )


def refused(code: int) -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused({"ada@example.com": (code, b"no")})


def failing_with(monkeypatch, exc: Exception) -> None:
    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        lambda self, messages: (_ for _ in ()).throw(exc),
    )


def test_email_send_sends_multipart_with_the_rows_message_id():
    log = queued(body_text="Hi")

    result = email_send(email_log_id=log.pk)

    [message] = mail.outbox
    assert result.status == "sent" and result.attempts == 1
    assert message.alternatives[0].content == "<p>Hi</p>" and message.body == "Hi"
    assert message.extra_headers["Message-ID"] == log.message_id
    assert message.message()["Message-ID"] == log.message_id
    log.refresh_from_db()
    assert log.status == EmailLog.Status.SENT and log.sent_at and log.claimed_until is None


def test_a_text_part_is_derived_from_the_html_when_none_is_given():
    email_send(email_log_id=queued(body_html="<p>Fish &amp; chips</p>").pk)

    assert mail.outbox[0].body == "Fish & chips"


def test_email_send_again_after_sent_does_nothing():
    log = queued()
    email_send(email_log_id=log.pk)

    again = email_send(email_log_id=log.pk)

    assert again.status == "already_sent" and len(mail.outbox) == 1
    assert EmailLog.objects.get(pk=log.pk).attempts == 1


def test_a_failed_or_missing_email_is_not_sent():
    assert (
        email_send(email_log_id=queued(status=EmailLog.Status.FAILED).pk).status == "already_failed"
    )
    assert email_send(email_log_id=987654).status == "missing"
    assert mail.outbox == []


def test_a_lease_held_by_another_attempt_means_retry_when_it_expires():
    log = queued(claimed_until=timezone.now() + timedelta(seconds=20), attempts=1)

    with pytest.raises(EmailRetryLater) as info:
        email_send(email_log_id=log.pk)

    assert 19 < info.value.retry_after <= 21 and mail.outbox == []


def test_an_expired_lease_is_taken_over():
    log = queued(claimed_until=timezone.now() - timedelta(seconds=1), attempts=1)

    assert email_send(email_log_id=log.pk).status == "sent"
    assert EmailLog.objects.get(pk=log.pk).attempts == 2


def test_a_transient_failure_releases_the_row_for_a_retry(monkeypatch):
    log = queued()
    failing_with(monkeypatch, smtplib.SMTPDataError(451, b"later"))

    with pytest.raises(EmailRetryLater) as info:
        email_send(email_log_id=log.pk)

    log.refresh_from_db()
    assert info.value.attempts == 1 and "ada@example.com" not in str(info.value)
    assert log.status == EmailLog.Status.QUEUED and log.claimed_until is None
    assert log.last_error == "SMTPDataError (SMTP 451): 451 later"


def test_the_last_transient_failure_of_the_budget_marks_the_row_failed(monkeypatch, settings):
    settings.CELERY_TASK_MAX_RETRIES = 1
    log = queued(attempts=1)
    failing_with(monkeypatch, smtplib.SMTPDataError(451, b"later"))

    with pytest.raises(EmailFailed) as info:
        email_send(email_log_id=log.pk)

    log.refresh_from_db()
    assert str(info.value) == f"email {log.pk}: gave up after 2 attempts: SMTPDataError (SMTP 451)"
    assert log.status == EmailLog.Status.FAILED and log.claimed_until is None


def test_a_permanent_failure_marks_the_row_failed_at_once(monkeypatch):
    log = queued()
    failing_with(monkeypatch, refused(550))

    with pytest.raises(EmailFailed) as info:
        email_send(email_log_id=log.pk)

    log.refresh_from_db()
    assert str(info.value) == f"email {log.pk}: permanent failure: recipient refused (SMTP 550)"
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no address in chain
    assert log.status == EmailLog.Status.FAILED and log.attempts == 1
    assert "ada@example.com: 550 no" in log.last_error
