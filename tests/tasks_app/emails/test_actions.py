"""Retry and cancel of one email: the services (in-memory queue, locmem mail) and the admin actions.
With a real worker and SMTP server: test_pipeline.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tasks_app.models import EmailLog
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.services.emails.actions import EmailActionRefused, email_cancel, email_retry
from tasks_app.services.emails.delivery import email_send
from tasks_app.services.emails.queueing import SEND_EMAIL_TASK

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def email(status: str = EmailLog.Status.QUEUED, **fields) -> EmailLog:
    return EmailLog.objects.create(
        recipient="ada@example.com", subject="Hi", body_html="<p>Hi</p>", status=status, **fields
    )


def test_a_failed_email_is_queued_again_with_a_fresh_budget_and_its_message_id(
    admin, django_capture_on_commit_callbacks
):
    failed = email(EmailLog.Status.FAILED, attempts=4, last_error="gave up", task_id="old")
    message_id = failed.message_id
    task_queue = InMemoryTaskQueue()

    with django_capture_on_commit_callbacks(execute=True):
        log = email_retry(failed, by=admin, task_queue=task_queue)

    [task] = task_queue.published
    assert (task.name, task.kwargs) == (SEND_EMAIL_TASK, {"email_log_id": log.pk})
    assert log.status == EmailLog.Status.QUEUED and log.task_id == task.task_id
    assert (log.attempts, log.last_error, log.message_id) == (0, "", message_id)
    assert log.retried_by == admin and log.retried_at is not None
    assert email_send(email_log_id=log.pk).status == "sent"
    assert mail.outbox[0].extra_headers["Message-ID"] == message_id


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (EmailLog.Status.SENT, "was sent"),
        (EmailLog.Status.QUEUED, "is queued"),
        (EmailLog.Status.CANCELLED, "was cancelled"),
    ],
)
def test_only_a_failed_email_can_be_retried(admin, status, said):
    log = email(status)
    task_queue = InMemoryTaskQueue()

    with pytest.raises(EmailActionRefused) as info:
        email_retry(log, by=admin, task_queue=task_queue)

    assert info.value.message == f"email {log.pk} {said}; only a failed email can be retried"
    assert EmailLog.objects.get(pk=log.pk).status == status and task_queue.published == []


def test_a_cancelled_email_records_who_and_when_and_is_never_sent(admin):
    log = email_cancel(email(), by=admin)

    assert log.status == EmailLog.Status.CANCELLED
    assert log.cancelled_by == admin and log.cancelled_at is not None
    assert email_send(email_log_id=log.pk).status == "already_cancelled"
    assert mail.outbox == [] and EmailLog.objects.get(pk=log.pk).attempts == 0


def test_an_email_being_sent_cannot_be_cancelled(admin):
    log = email(claimed_until=timezone.now() + timedelta(seconds=30), attempts=1)

    with pytest.raises(EmailActionRefused) as info:
        email_cancel(log, by=admin)

    assert info.value.message == (
        f"email {log.pk} is being sent right now; "
        "only a queued email that is not being sent can be cancelled"
    )
    assert EmailLog.objects.get(pk=log.pk).status == EmailLog.Status.QUEUED


@pytest.mark.parametrize("status", [EmailLog.Status.SENT, EmailLog.Status.FAILED])
def test_only_a_queued_email_can_be_cancelled(admin, status):
    log = email(status)

    with pytest.raises(EmailActionRefused, match=f"^email {log.pk} (was sent|failed); only a"):
        email_cancel(log, by=admin)


def run_action(client, action: str, logs: list[EmailLog]) -> list[tuple[str, str]]:
    page = client.post(
        reverse("admin:tasks_app_emaillog_changelist"),
        {"action": action, "_selected_action": [log.pk for log in logs]},
        follow=True,
    )
    assert page.status_code == 200
    return [(m.level_tag, m.message) for m in get_messages(page.wsgi_request)]


def test_the_admin_actions_count_what_they_did_and_give_the_reasons_for_the_rest(
    admin_client, monkeypatch
):
    monkeypatch.setattr("tasks_app.services.emails.actions.get_task_queue", InMemoryTaskQueue)
    failed, other_failed, sent, queued = (
        email(EmailLog.Status.FAILED),
        email(EmailLog.Status.FAILED),
        email(EmailLog.Status.SENT),
        email(),
    )

    retried = run_action(admin_client, "retry", [failed, other_failed, sent])
    cancelled = run_action(admin_client, "cancel", [queued, sent])

    assert retried == [
        ("success", "2 emails queued again."),
        ("warning", f"1 email not retried: email {sent.pk} was sent; only a failed email can "
                    "be retried."),
    ]  # fmt: skip
    assert cancelled == [
        ("success", "1 email cancelled."),
        ("warning", f"1 email not cancelled: email {sent.pk} was sent; only a queued email that "
                    "is not being sent can be cancelled."),
    ]  # fmt: skip
    assert EmailLog.objects.get(pk=failed.pk).status == EmailLog.Status.QUEUED
    assert EmailLog.objects.get(pk=queued.pk).status == EmailLog.Status.CANCELLED


def test_the_actions_need_the_change_permission(client, admin):
    admin.user_permissions.add(Permission.objects.get(codename="view_emaillog"))
    client.force_login(admin)
    url = reverse("admin:tasks_app_emaillog_changelist")

    page = client.get(url)

    assert page.status_code == 200 and b'value="retry"' not in page.content
    admin.user_permissions.add(Permission.objects.get(codename="change_emaillog"))
    assert b'value="retry"' in client.get(url).content
