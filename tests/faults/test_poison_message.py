"""Scenario 6: a poison message, a task that kills its worker every time it runs.

It is delivered again after each death (an acks_late task's message goes back to the queue), a
bounded number of times (TASK_MAX_REDELIVERIES, counted as lost attempts in the ledger), then
fails with a clear reason; the worker serves the rest of its queue meanwhile and afterwards.
"""

from __future__ import annotations

import time
import uuid

import pytest
from celery import states
from django.db import transaction
from django_celery_results.models import TaskResult

from tasks_app.queue import PublishOptions, get_task_queue
from tests.faults import lost_work
from tests.faults.lost_work import on_production_services
from tests.support.polling import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), on_production_services]

fault_worker = lost_work.fault_worker

MAX_REDELIVERIES = 2


def test_a_task_that_kills_its_worker_is_failed_after_bounded_redeliveries(
    fault_worker, settings, admin_api
):
    queue = f"poison-{uuid.uuid4().hex[:8]}"
    worker = fault_worker(
        queues=queue,
        concurrency=1,
        TEST_WORKER_IMPORTS="tests.faults.fault_tasks",
        TASK_MAX_REDELIVERIES=str(MAX_REDELIVERIES),
    )
    tasks = get_task_queue()
    on_queue = PublishOptions(queue=queue)
    with transaction.atomic():
        poison = tasks.enqueue("tests.faults.kill_own_worker", options=on_queue)
        pings = [tasks.enqueue("tasks_app.ping", options=on_queue) for _ in range(5)]
    started = time.monotonic()

    result = wait_for(
        lambda: TaskResult.objects.filter(task_id=poison, status=states.FAILURE).first(),
        timeout=60,
        what="the poison message to end failed",
    )
    took = time.monotonic() - started
    wait_for(
        lambda: TaskResult.objects.filter(task_id__in=pings, status="SUCCESS").count() == 5,
        what="the rest of the queue",
    )
    after = tasks.enqueue("tasks_app.ping", options=on_queue)
    wait_for(lambda: TaskResult.objects.filter(task_id=after, status="SUCCESS").exists())

    detail = admin_api.get(f"/api/tasks/{poison}/").json()
    outcomes = [a["outcome"] for a in detail["attempts"]]
    print(f"\npoison message: {len(outcomes)} deliveries, failed after {took:.1f} s: {outcomes}")
    worker.assert_running()
    assert "PoisonMessageError" in result.result and "worker died" in result.result
    # The first delivery and MAX_REDELIVERIES more each killed a pool process; the next one is
    # refused before the task runs. Before the sweep, a lost attempt is one left `running`.
    assert len(outcomes) == MAX_REDELIVERIES + 2
    assert outcomes[-1] == "failure" and set(outcomes[:-1]) <= {"running", "lost"}
    assert "PoisonMessageError" in detail["attempts"][-1]["error"]
