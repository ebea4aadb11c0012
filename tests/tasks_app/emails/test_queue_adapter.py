"""The Celery adapter of the task-queue port, against the real broker and a worker: the id comes
back at once, publication waits for the commit, a rollback publishes nothing, and a publish that
fails (broker down) leaves an outbox row that the relay publishes later."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.models import EmailLog, OutboxMessage
from tasks_app.queue.celery import CeleryTaskQueue
from tasks_app.services.emails import email_queue
from tests.support.broker import publisher_app
from tests.support.polling import wait_for
from tests.support.ports import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def result_of(task_id: str, timeout: float = 30) -> TaskResult:
    return wait_for(
        lambda: TaskResult.objects.filter(task_id=task_id, status="SUCCESS").first(),
        timeout=timeout,
        what=f"task {task_id} to succeed",
    )


def test_id_is_returned_at_once_and_the_task_is_published_after_commit(celery_worker, settings):
    queue = CeleryTaskQueue()
    with transaction.atomic():
        task_id = queue.enqueue("tasks_app.ping")
        row = OutboxMessage.objects.get(task_id=task_id)  # written in the caller's transaction
        assert row.queue == settings.CELERY_TASK_DEFAULT_QUEUE
        assert row.attempts == 0

    assert result_of(task_id).worker == celery_worker.hostname
    assert not OutboxMessage.objects.filter(task_id=task_id).exists()


def test_a_rolled_back_transaction_publishes_nothing(celery_worker):
    queue = CeleryTaskQueue()
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = queue.enqueue("tasks_app.ping")
        raise RuntimeError("the caller fails after enqueueing")
    marker = queue.enqueue("tasks_app.ping")  # enqueued after: done once the queue has drained

    result_of(marker)
    assert not TaskResult.objects.filter(task_id=rolled_back).exists()
    assert not OutboxMessage.objects.exists()


def test_enqueue_at_uses_the_default_queue_and_runs_at_the_eta(celery_worker, settings):
    eta = timezone.now() + timedelta(seconds=2)
    with transaction.atomic():
        task_id = CeleryTaskQueue().enqueue_at("tasks_app.ping", eta)
        assert (
            OutboxMessage.objects.get(task_id=task_id).queue == settings.CELERY_TASK_DEFAULT_QUEUE
        )

    assert result_of(task_id).date_done >= eta


def test_a_failed_publish_is_kept_and_relayed_later(celery_worker):
    down = publisher_app(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with transaction.atomic():
        task_id = CeleryTaskQueue(celery_app=down).enqueue("tasks_app.ping")

    row = OutboxMessage.objects.get(task_id=task_id)  # the caller's commit still succeeded
    assert row.attempts == 1 and "OperationalError" in row.last_error
    assert not TaskResult.objects.filter(task_id=task_id).exists()

    call_command("relay_outbox")  # the relay, on the real broker

    assert result_of(task_id).task_name == "tasks_app.ping"
    assert not OutboxMessage.objects.exists()


def test_without_email_host_the_worker_writes_mail_to_files(celery_worker, settings):
    # The session worker runs with the embedded default: no EMAIL_HOST, file backend under var/.
    log = email_queue(to="files@example.com", subject="On disk", body_html="<p>hello</p>")

    wait_for(lambda: EmailLog.objects.filter(pk=log.pk, status="sent").exists(), what="the send")
    folder = Path(settings.EMAIL_FILE_PATH)
    [path] = [p for p in folder.glob("*.log") if log.message_id in p.read_text(errors="replace")]
    assert "Subject: On disk" in path.read_text() and "<p>hello</p>" in path.read_text()
