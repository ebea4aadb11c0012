"""The email pipeline end to end: service -> outbox -> broker -> worker -> aiosmtpd; and a person's
retry and cancel of one email."""

from __future__ import annotations

import json
import uuid

import pytest
from django_celery_results.models import TaskResult

from accounts.models import User
from accounts.services import user_create
from project.celery import app as celery_app
from tasks_app.models import EmailLog
from tasks_app.queue import get_task_queue
from tasks_app.selectors.ledger import records_unpublished
from tasks_app.services.emails.actions import email_cancel, email_retry
from tasks_app.services.emails.queueing import email_queue
from tests.support.polling import wait_for
from tests.support.smtp import SmtpServer
from tests.support.worker import private_queue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("email_worker", "to_email_worker"),
]


def settled(log: EmailLog, status: str, timeout: float = 30) -> EmailLog:
    return wait_for(
        lambda: EmailLog.objects.filter(pk=log.pk, status=status).first(),
        timeout=timeout,
        what=f"email {log.pk} to be {status}",
    )


def test_email_arrives_multipart_with_subject_sender_and_message_id(smtp: SmtpServer, settings):
    log = email_queue(
        to="ada@example.com",
        subject="Quarterly report",
        body_html="<p>Hello <b>Ada</b></p>",
        body_text="Hello Ada",
    )

    log = settled(log, EmailLog.Status.SENT)

    [received] = smtp.handler.to("ada@example.com")
    assert received.message["Subject"] == "Quarterly report"
    assert received.message["From"] == settings.DEFAULT_FROM_EMAIL
    assert received.mail_from == settings.DEFAULT_FROM_EMAIL
    assert received.message.get_content_type() == "multipart/alternative"
    assert received.part("plain").strip() == "Hello Ada"
    assert received.part("html").strip() == "<p>Hello <b>Ada</b></p>"
    assert received.message_id == log.message_id
    assert log.attempts == 1 and log.sent_at is not None and log.last_error == ""
    wait_for(lambda: not records_unpublished().exists(), timeout=5, what="the publish mark")


def test_4xx_then_250_is_retried_and_delivered_once(smtp: SmtpServer):
    log = email_queue(to="tempfail-1@example.com", subject="Greylisted", body_html="<p>hi</p>")

    log = settled(log, EmailLog.Status.SENT)

    assert smtp.handler.data_attempts["tempfail-1@example.com"] == 2
    assert len(smtp.handler.to("tempfail-1@example.com")) == 1
    assert log.attempts == 2
    assert log.sent_at is not None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("bounce-1@example.com", "SMTPDataError (SMTP 554)"),
        ("reject-1@example.com", "recipient refused (SMTP 550)"),
    ],
)
def test_5xx_is_not_retried_and_is_recorded_failed(smtp: SmtpServer, address, reason):
    log = email_queue(to=address, subject="Nope", body_html="<p>hi</p>")

    log = settled(log, EmailLog.Status.FAILED)

    assert log.attempts == 1
    assert f"permanent failure: {reason}" in log.last_error
    assert smtp.handler.data_attempts[address] == (1 if address.startswith("bounce") else 0)
    result = wait_for(
        lambda: TaskResult.objects.filter(task_id=log.task_id, status="FAILURE").first(),
        what="the failed send_email in the result table",
    )
    # The failure is visible in the task history, without the address anywhere in it.
    assert "EmailFailed" in result.result and reason in result.result
    row = " ".join(
        str(v) for v in TaskResult.objects.filter(task_id=log.task_id).values().get().values()
    )
    assert address not in row


def test_transient_failures_stop_after_the_retry_budget_and_are_recorded(
    smtp: SmtpServer, settings
):
    log = email_queue(to="alwaysfail-1@example.com", subject="Never", body_html="<p>hi</p>")

    log = settled(log, EmailLog.Status.FAILED, timeout=40)

    budget = settings.CELERY_TASK_MAX_RETRIES + 1
    assert log.attempts == budget == smtp.handler.data_attempts["alwaysfail-1@example.com"]
    assert log.last_error.startswith(f"gave up after {budget} attempts: SMTPDataError (SMTP 451)")
    assert smtp.handler.to("alwaysfail-1@example.com") == []


def test_user_created_by_the_service_gets_exactly_one_welcome_email(smtp: SmtpServer):
    user = user_create(username="newcomer", email="new@example.com", password="x" * 12)
    # A failed creation (same username) sends nothing. The error is ValidationError or the
    # project's ApplicationError, whichever the accounts service raises.
    with pytest.raises(Exception):  # noqa: B017
        user_create(username=user.username, email="other@example.com", password="x" * 12)

    log = wait_for(
        lambda: EmailLog.objects.filter(recipient="new@example.com", status="sent").first(),
        what="the welcome email to be sent",
    )

    [received] = smtp.handler.to("new@example.com")
    assert received.message["Subject"] == "Welcome to Our Platform!"
    assert received.message_id == log.message_id
    assert "Welcome, newcomer!" in received.part("plain")
    assert EmailLog.objects.count() == 1 and smtp.handler.to("other@example.com") == []
    # One broker message for the creation: send_email itself, no welcome task in between.
    sent = wait_for(
        lambda: TaskResult.objects.filter(task_id=log.task_id, status="SUCCESS").first(),
        what="the send_email task's result",
    )
    assert sent.task_name == "tasks_app.send_email"
    assert not TaskResult.objects.filter(task_name="tasks_app.send_welcome_email").exists()


def test_welcome_email_escapes_a_username_with_markup(smtp: SmtpServer):
    # The username validator forbids "<"; a row from an import or an older rule may still have it.
    user = User.objects.create_user("<script>alert(1)</script>", "mallory@example.com", "x" * 12)
    get_task_queue().enqueue("tasks_app.send_welcome_email", user_id=str(user.pk))

    wait_for(lambda: smtp.handler.to("mallory@example.com"), what="the welcome email")

    [received] = smtp.handler.to("mallory@example.com")
    html = received.part("html")
    assert "Welcome, &lt;script&gt;alert(1)&lt;/script&gt;!" in html and "<script>" not in html
    assert "Welcome, <script>alert(1)</script>!" in received.part("plain")  # text/plain is not HTML


def test_the_seeds_welcome_task_delivered_twice_sends_exactly_one_email(smtp: SmtpServer):
    """A `send_welcome_email` message published before this release, and its redelivery."""
    user = User.objects.create_user("oldflow", "oldflow@example.com", "x" * 12)
    task_ids = [
        get_task_queue().enqueue("tasks_app.send_welcome_email", user_id=str(user.pk))
        for _ in range(2)
    ]

    log = wait_for(
        lambda: EmailLog.objects.filter(recipient="oldflow@example.com", status="sent").first(),
        what="the welcome email to be sent",
    )
    wait_for(
        lambda: TaskResult.objects.filter(task_id__in=task_ids, status="SUCCESS").count() == 2,
        what="both welcome tasks to finish",
    )
    wait_for(
        lambda: TaskResult.objects.filter(task_id=log.task_id, status="SUCCESS").exists(),
        what="the send_email task to finish",
    )

    assert [r.message_id for r in smtp.handler.to("oldflow@example.com")] == [log.message_id]
    assert EmailLog.objects.filter(recipient="oldflow@example.com").count() == 1
    # This email's sends only: the module's worker may still record an earlier test's send.
    sends = TaskResult.objects.filter(
        task_name="tasks_app.send_email", task_kwargs=json.dumps({"email_log_id": log.pk})
    )
    assert list(sends.values_list("task_id", flat=True)) == [log.task_id]


def test_a_failed_email_retried_arrives_with_the_first_attempts_message_id(smtp, admin):
    log = email_queue(to="refuseonce-1@example.com", subject="Second time", body_html="<p>x</p>")
    first_task_id = settled(log, EmailLog.Status.FAILED).task_id

    email_retry(log, by=admin)
    log = settled(log, EmailLog.Status.SENT)

    first, second = smtp.handler.offered["refuseonce-1@example.com"]
    assert first == second == log.message_id
    assert [r.message_id for r in smtp.handler.to("refuseonce-1@example.com")] == [log.message_id]
    assert log.attempts == 1 and log.retried_by == admin and log.task_id != first_task_id


def test_a_cancelled_queued_email_never_reaches_the_smtp_server(
    smtp, admin, email_worker, settings
):
    # Parked on a queue no worker reads yet, so it is surely still queued when it is cancelled.
    private_queue(settings, "emails", parked := f"parked-{uuid.uuid4().hex[:8]}")
    log = email_queue(to="cancelled-1@example.com", subject="Never", body_html="<p>x</p>")
    email_cancel(log, by=admin)

    celery_app.control.add_consumer(parked, destination=[email_worker.hostname], reply=True)
    try:
        wait_for(
            lambda: TaskResult.objects.filter(task_id=log.task_id, status="SUCCESS").exists(),
            what="the cancelled email's send_email to run",
        )
    finally:
        celery_app.control.cancel_consumer(parked, destination=[email_worker.hostname], reply=True)

    log.refresh_from_db()
    assert log.status == EmailLog.Status.CANCELLED and log.attempts == 0
    assert smtp.handler.offered["cancelled-1@example.com"] == []
    assert smtp.handler.data_attempts["cancelled-1@example.com"] == 0
