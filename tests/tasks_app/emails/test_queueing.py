"""Queueing: `email_queue` records the row and enqueues only its id, once per idempotency key;
`email_send_now` (behind `manage.py send_test_email`) sends in this process (in-memory queue and
Django's locmem backend)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction

from tasks_app.models import EmailLog
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.services.emails.queueing import email_queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def queue() -> InMemoryTaskQueue:
    return InMemoryTaskQueue()


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


def test_email_queue_with_a_known_idempotency_key_returns_its_row_and_enqueues_nothing(
    queue, django_capture_on_commit_callbacks
):
    email = {"to": "ada@example.com", "subject": "Hi", "body_html": "<p>Hi</p>"}
    with django_capture_on_commit_callbacks(execute=True):
        first = email_queue(**email, idempotency_key="k", task_queue=queue)
        again = email_queue(**email, idempotency_key="k", task_queue=queue)

    assert again.pk == first.pk and len(queue.published) == 1 and EmailLog.objects.count() == 1


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
