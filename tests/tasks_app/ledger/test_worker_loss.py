"""The ledger when a worker dies: what it committed stays (its writes are never buffered), and
a message delivered again after a death is the task's next attempt, the dead one shown as lost."""

from __future__ import annotations

import re
import uuid

import pytest
from celery import states
from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tasks_app.models import TaskAttempt
from tasks_app.queue import get_task_queue
from tests.support.polling import wait_for
from tests.support.worker import CeleryWorker, private_queue

pytestmark = pytest.mark.django_db(transaction=True)


def reported_done(worker: CeleryWorker) -> set[str]:
    """The pings the worker's log reports done: Celery logs "succeeded" after the result backend
    returned, so each of them must be recorded."""
    log = worker.log_path.read_text(errors="replace")
    return set(re.findall(r"tasks_app\.ping\[([0-9a-f-]{36})\] succeeded", log))


def test_every_task_a_sigkilled_worker_reported_done_keeps_its_record(settings):
    queue = f"ledger-kill-{uuid.uuid4().hex[:8]}"
    worker = CeleryWorker(concurrency=2, **private_queue(settings, "default", queue)).start()
    try:
        with transaction.atomic():
            ids = get_task_queue().enqueue_many("tasks_app.ping", [((), {})] * 300)
        # Killed once it has reported 40 done, while it goes on with the rest.
        wait_for(lambda: len(reported_done(worker)) >= 40, interval=0.01, what="40 pings done")
        worker.kill()
        reported = reported_done(worker)
    finally:
        worker.stop()

    assert len(reported) >= 40
    recorded = set(
        TaskResult.objects.filter(task_id__in=ids, status=states.SUCCESS).values_list(
            "task_id", flat=True
        )
    )
    assert reported <= recorded
    finished = TaskAttempt.objects.filter(task_id__in=ids, outcome="success")
    assert set(finished.values_list("task_id", flat=True)) == recorded


def test_a_message_delivered_again_after_a_worker_died_is_the_next_attempt(
    celery_worker, admin_api
):
    """The state a SIGKILLed worker leaves (attempt 1 started, never ended), then the broker's
    redelivery of the same message (same task id) to a live worker."""
    task_id = str(uuid.uuid4())
    started = timezone.now()
    TaskResult.objects.create(
        task_id=task_id, task_name="tasks_app.ping", status=states.STARTED, date_started=started
    )
    TaskAttempt.objects.create(task_id=task_id, number=1, worker="dead@host", started_at=started)

    celery_app.send_task("tasks_app.ping", task_id=task_id)

    wait_for(
        lambda: TaskResult.objects.filter(task_id=task_id, status="SUCCESS").exists(),
        what="the redelivered ping",
    )
    attempts = admin_api.get(f"/api/tasks/{task_id}/").json()["attempts"]
    assert [(a["number"], a["worker"], a["outcome"]) for a in attempts] == [
        (1, "dead@host", "running"),  # lost: a running attempt before the last one
        (2, celery_worker.hostname, "success"),
    ]
