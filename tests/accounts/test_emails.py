"""The welcome email: what it says, who gets it, and that one user creation makes one email and
one broker message (`tasks_app.send_email`), in the creation's own transaction.

Unit tests: the in-memory queue, or the real outbox adapter with its after-commit publish not run
(what reaches SMTP through a worker is in tests/tasks_app/emails/test_pipeline.py)."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.emails import WELCOME_SUBJECT, welcome_email_queue
from accounts.models import User
from accounts.services import user_create
from tasks_app.models import EmailLog, TaskRecord
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.selectors.ledger import record_call
from tasks_app.tasks import send_welcome_email
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue() -> InMemoryTaskQueue:
    return InMemoryTaskQueue()


def create(**overrides) -> User:
    fields = {"username": "ada", "email": "ada@example.com", "password": PASSWORD, **overrides}
    return user_create(**fields)


def test_welcome_email_renders_with_autoescaping(queue):
    user = UserFactory(username="<b>bold</b>", email="bold@example.com")

    log = welcome_email_queue(user=user, task_queue=queue)

    assert "Welcome, &lt;b&gt;bold&lt;/b&gt;!" in log.body_html and "<b>bold" not in log.body_html
    assert log.body_text.startswith("Welcome, <b>bold</b>!")  # text/plain is not HTML
    assert log.subject == WELCOME_SUBJECT
    assert log.recipient == "bold@example.com" and log.idempotency_key == f"welcome:{user.pk}"


def test_welcome_email_is_queued_once_per_user(queue, django_capture_on_commit_callbacks):
    user = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        first = welcome_email_queue(user=user, task_queue=queue)
        again = welcome_email_queue(user=user, task_queue=queue)

    assert first.pk == again.pk and len(queue.published) == 1


def test_an_inactive_user_gets_no_welcome_email(queue, caplog):
    user = UserFactory(is_active=False)

    assert welcome_email_queue(user=user, task_queue=queue) is None

    assert "is inactive" in caplog.text
    assert not EmailLog.objects.exists() and queue.published == []


def test_user_create_publishes_one_send_email_message_with_only_the_email_log_id(
    queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = create(task_queue=queue)

    [log] = EmailLog.objects.all()
    [task] = queue.published
    assert (task.name, task.args, task.kwargs) == (
        "tasks_app.send_email",
        (),
        {"email_log_id": log.pk},
    )
    assert (log.recipient, log.idempotency_key, log.task_id) == (
        user.email,
        f"welcome:{user.pk}",
        task.task_id,
    )


def test_user_create_records_exactly_one_task_in_its_transaction(
    django_capture_on_commit_callbacks,
):
    """The configured adapter (the outbox): the row is written with the user, published later."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user = create()

    [message] = TaskRecord.objects.all()
    log = EmailLog.objects.get(idempotency_key=f"welcome:{user.pk}")
    assert message.published_at is None  # not yet: after commit
    assert record_call(message) == (
        "tasks_app.send_email",
        [],
        {"email_log_id": log.pk},
    )
    assert len(callbacks) == 1  # one publish after commit


def test_a_rolled_back_creation_leaves_no_email_and_publishes_nothing(
    queue, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        create(task_queue=queue)
        raise RuntimeError("the caller's transaction fails after the user was created")

    assert queue.published == []
    assert not EmailLog.objects.exists() and not TaskRecord.objects.exists()
    assert not User.objects.filter(username="ada").exists()


def test_the_seeds_welcome_task_queues_nothing_for_a_user_created_by_user_create():
    """A message of the old two-step flow, published before this release, arrives for a user
    whose email `user_create` already queued: it finds the row and adds no second message."""
    user = create()

    result = send_welcome_email(str(user.pk))

    log = EmailLog.objects.get()
    assert result == {"status": "queued", "email_log_id": log.pk, "user_id": str(user.pk)}
    assert TaskRecord.objects.count() == 1


def test_the_seeds_welcome_task_queues_the_email_of_a_user_without_one():
    user = UserFactory()

    first = send_welcome_email(str(user.pk))
    redelivered = send_welcome_email(str(user.pk))

    log = EmailLog.objects.get()
    assert (
        first
        == redelivered
        == {"status": "queued", "email_log_id": log.pk, "user_id": str(user.pk)}
    )
    records = TaskRecord.objects.all()
    assert [record_call(r)[2] for r in records] == [{"email_log_id": log.pk}]


@pytest.mark.parametrize("user_id", ["0b5e6a0e-0000-4000-8000-000000000000", "not-a-uuid"])
def test_the_seeds_welcome_task_skips_a_missing_user(user_id, caplog):
    assert send_welcome_email(user_id) == {"status": "skipped", "user_id": user_id}

    assert "does not exist" in caplog.text
    assert not EmailLog.objects.exists() and not TaskRecord.objects.exists()


def test_the_seeds_welcome_task_skips_an_inactive_user():
    user = UserFactory(is_active=False)

    assert send_welcome_email(str(user.pk)) == {"status": "skipped", "user_id": str(user.pk)}
    assert not EmailLog.objects.exists()
