"""The publish marks (tasks_app.ledger.published): the caller's connection writes the task's
record with its commit and nothing after it; the result row and the mark follow a moment later
from the process's thread. A process that exits writes its marks first; one killed before writing
them loses only the marks: the relay publishes those tasks again, and they run (at-least-once)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tasks_app.models import TaskRecord
from tasks_app.queue import get_task_queue
from tasks_app.queue.outbox import RELAY_GRACE, outbox_relay
from tests.support.broker import drop_queue, queued_messages
from tests.support.polling import wait_for
from tests.support.worker import BASE_DIR, CeleryWorker, private_queue, worker_env

pytestmark = pytest.mark.django_db(transaction=True)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="elsewhere the mark is written at once, with the publish (no thread)",
)

# Another process queues one ping on the queue in argv[1], then exits normally or is SIGKILLed.
ENQUEUE = """
import os, signal, sys
import django
django.setup()
from tasks_app.queue import get_task_queue
print(get_task_queue().enqueue("tasks_app.ping", queue=sys.argv[1]), flush=True)
if sys.argv[2] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def queue():
    name = f"marks-{uuid.uuid4().hex[:8]}"
    yield name
    drop_queue(name)


def enqueue_in_another_process(queue: str, ending: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", ENQUEUE, queue, ending],
        env=worker_env(),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip(), done.stderr
    return done.stdout.split()[0]


@postgres_only
def test_the_caller_writes_only_the_record_and_the_mark_follows_off_its_path(queue):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        task_id = get_task_queue().enqueue("tasks_app.ping", queue=queue)
        # committed and published here

    # One query after BEGIN: the record's INSERT goes with the COMMIT, and nothing follows it.
    begin, commit = [q["sql"].strip() for q in queries.captured_queries]
    assert begin == "BEGIN"
    assert commit.startswith(f"INSERT INTO {TaskRecord._meta.db_table} ")
    assert commit.endswith(";\nCOMMIT")
    assert [m["headers"]["id"] for m in queued_messages(queue)] == [task_id]
    record = wait_for(
        lambda: TaskRecord.objects.filter(pk=task_id, published_at__isnull=False).first(),
        timeout=5,
        what="the publish mark",
    )
    result = TaskResult.objects.get(task_id=task_id)
    assert (result.status, result.task_name, result.date_created) == (
        "PENDING",
        "tasks_app.ping",
        record.created_at,
    )


def test_a_process_that_exits_writes_its_marks_first(queue):
    task_id = enqueue_in_another_process(queue, "exit")

    record = TaskRecord.objects.get(pk=task_id)  # no wait: written before the process ended
    assert record.published_at is not None
    assert TaskResult.objects.get(task_id=task_id).status == "PENDING"


@postgres_only
def test_a_process_killed_before_its_mark_has_its_task_published_again(settings, queue):
    task_id = enqueue_in_another_process(queue, "kill")

    record = TaskRecord.objects.get(pk=task_id)
    assert record.published_at is None  # the mark died with the process
    assert not TaskResult.objects.filter(task_id=task_id).exists()
    assert [m["headers"]["id"] for m in queued_messages(queue)] == [task_id]

    # Nothing says the broker has it: once the relay's grace has passed, it is sent again.
    TaskRecord.objects.filter(pk=task_id).update(
        created_at=timezone.now() - RELAY_GRACE - timedelta(seconds=1)
    )
    assert outbox_relay(celery_app).published == 1
    assert [m["headers"]["id"] for m in queued_messages(queue)] == [task_id, task_id]
    record.refresh_from_db()
    assert record.published_at is not None

    worker = CeleryWorker(**private_queue(settings, "default", queue), queues=queue).start()
    try:
        wait_for(
            lambda: TaskResult.objects.filter(task_id=task_id, status="SUCCESS").exists(),
            what="the task to run",
        )
    finally:
        worker.stop()
