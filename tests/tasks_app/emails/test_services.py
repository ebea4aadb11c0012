"""Unit tests of the email services: Django's locmem backend and the in-memory task queue (pure
logic; the broker, worker and SMTP server are in test_pipeline.py)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_create
from tasks_app.models import EmailLog
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.services.emails import (
    EmailFailed,
    EmailRetryLater,
    email_error_is_transient,
    email_queue,
    email_send,
    emails_requeue_stale,
    retry_countdown,
    welcome_email_queue,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def queue() -> InMemoryTaskQueue:
    return InMemoryTaskQueue()


def queued(**overrides) -> EmailLog:
    return EmailLog.objects.create(
        **{"recipient": "ada@example.com", "subject": "Hi", "body_html": "<p>Hi</p>", **overrides}
    )


def test_email_queue_records_the_email_and_enqueues_only_its_id(
    queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        log = email_queue(
            to="ada@example.com", subject="Hi", body_html="<p>Hi</p>", task_queue=queue
        )

    [task] = queue.published
    assert (task.name, task.args, task.kwargs) == (
        "tasks_app.send_email",
        (),
        {"email_log_id": log.pk},
    )
    assert log.task_id == task.task_id and log.status == EmailLog.Status.QUEUED
    assert log.message_id.startswith("<") and log.message_id.endswith("@localhost>")


def test_email_queue_in_a_rolled_back_transaction_leaves_nothing(
    queue, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_queue(to="ada@example.com", subject="Hi", body_html="<p>Hi</p>", task_queue=queue)
        raise RuntimeError

    assert queue.published == [] and not EmailLog.objects.exists()


def test_email_queue_rejects_a_malformed_address(queue):
    with pytest.raises(ValidationError):
        email_queue(to="not an address", subject="Hi", body_html="<p>Hi</p>", task_queue=queue)


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


def test_a_transient_failure_releases_the_row_for_a_retry(monkeypatch):
    log = queued()
    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        lambda self, messages: (_ for _ in ()).throw(smtplib.SMTPDataError(451, b"later")),
    )

    with pytest.raises(EmailRetryLater) as info:
        email_send(email_log_id=log.pk)

    log.refresh_from_db()
    assert info.value.attempts == 1 and "ada@example.com" not in str(info.value)
    assert log.status == EmailLog.Status.QUEUED and log.claimed_until is None
    assert log.last_error == "SMTPDataError (SMTP 451): 451 later"


def test_a_permanent_failure_marks_the_row_failed_at_once(monkeypatch):
    log = queued()
    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        lambda self, messages: (_ for _ in ()).throw(refused(550)),
    )

    with pytest.raises(EmailFailed) as info:
        email_send(email_log_id=log.pk)

    log.refresh_from_db()
    assert str(info.value) == f"email {log.pk}: permanent failure: recipient refused (SMTP 550)"
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no address in chain
    assert log.status == EmailLog.Status.FAILED and log.attempts == 1
    assert "ada@example.com: 550 no" in log.last_error


def test_stale_queued_emails_are_requeued_and_nothing_else(
    queue, django_capture_on_commit_callbacks
):
    old = timezone.now() - timedelta(hours=1)
    stale = queued()
    busy = queued(claimed_until=timezone.now() + timedelta(seconds=30))
    done = queued(status=EmailLog.Status.SENT)
    fresh = queued()
    EmailLog.objects.exclude(pk=fresh.pk).update(updated_at=old)

    with django_capture_on_commit_callbacks(execute=True):
        count = emails_requeue_stale(older_than=timedelta(minutes=15), task_queue=queue)

    assert count == 1 and [t.kwargs for t in queue.published] == [{"email_log_id": stale.pk}]
    assert EmailLog.objects.get(pk=stale.pk).task_id == queue.published[0].task_id
    assert {busy.pk, done.pk, fresh.pk}.isdisjoint(
        {t.kwargs["email_log_id"] for t in queue.published}
    )


def test_retry_countdown_grows_exponentially_with_jitter_and_a_cap():
    for attempt, (low, high) in enumerate([(30, 60), (60, 120), (120, 240), (240, 480)], start=1):
        delays = {retry_countdown(attempt=attempt, base=60) for _ in range(50)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1
    assert retry_countdown(attempt=20, base=60) <= 600


def test_welcome_email_renders_with_autoescaping(queue):
    user = User.objects.create_user("<b>bold</b>", "bold@example.com", "x" * 12)

    log = welcome_email_queue(user_id=str(user.pk), task_queue=queue)

    assert "Welcome, &lt;b&gt;bold&lt;/b&gt;!" in log.body_html and "<b>bold" not in log.body_html
    assert log.body_text.startswith("Welcome, <b>bold</b>!")
    assert log.recipient == "bold@example.com" and log.idempotency_key == f"welcome:{user.pk}"


def test_welcome_email_is_queued_once_per_user(queue, django_capture_on_commit_callbacks):
    user = User.objects.create_user("ada", "ada@example.com", "x" * 12)

    with django_capture_on_commit_callbacks(execute=True):
        first = welcome_email_queue(user_id=str(user.pk), task_queue=queue)
        again = welcome_email_queue(user_id=str(user.pk), task_queue=queue)  # a redelivery

    assert first.pk == again.pk and len(queue.published) == 1


def test_welcome_email_skips_a_missing_or_inactive_user(queue, caplog):
    inactive = User.objects.create_user("gone", "gone@example.com", "x" * 12, is_active=False)

    assert welcome_email_queue(user_id=str(inactive.pk), task_queue=queue) is None
    assert (
        welcome_email_queue(user_id="0b5e6a0e-0000-4000-8000-000000000000", task_queue=queue)
        is None
    )
    assert welcome_email_queue(user_id="not-a-uuid", task_queue=queue) is None

    assert "is inactive" in caplog.text and "does not exist" in caplog.text
    assert not EmailLog.objects.exists() and queue.published == []


def test_user_create_enqueues_the_welcome_email_by_id_only(
    queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = user_create(
            username="ada", email="ada@example.com", password="x" * 12, task_queue=queue
        )
        with pytest.raises(Exception):  # noqa: B017 - ValidationError or ApplicationError
            user_create(
                username="ada", email="other@example.com", password="x" * 12, task_queue=queue
            )

    [task] = queue.published
    assert (task.name, task.kwargs) == ("tasks_app.send_welcome_email", {"user_id": str(user.pk)})


def test_send_test_email_command_sends_and_reports(capsys):
    call_command("send_test_email", "ops@example.com")

    out = capsys.readouterr().out
    assert "locmem" in out and "Sent: email" in out
    assert mail.outbox[0].to == ["ops@example.com"]
    assert EmailLog.objects.get().status == EmailLog.Status.SENT


def test_send_test_email_command_fails_clearly(monkeypatch):
    with pytest.raises(CommandError, match="is not an email address"):
        call_command("send_test_email", "nope")
    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        lambda self, messages: (_ for _ in ()).throw(ConnectionRefusedError(111, "refused")),
    )
    with pytest.raises(CommandError, match=r"Not sent: email \d+: gave up after 1 attempts"):
        call_command("send_test_email", "ops@example.com")
