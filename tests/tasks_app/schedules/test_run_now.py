""" "Run now" (admin action and API) goes through the task-queue port and its outbox, and publishes
what beat would: the schedule's queue, expiry, priority and headers."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult
from rest_framework.test import APIClient

from tasks_app.models import TaskRecord
from tasks_app.queue import PublishOptions
from tasks_app.queue.celery import CeleryTaskQueue
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.selectors.ledger import records_unpublished
from tasks_app.services.schedules import schedule_run_now
from tests.support.broker import publisher_app, queued_messages
from tests.support.polling import wait_for
from tests.support.ports import free_port
from tests.tasks_app.schedules.conftest import NAME

pytestmark = pytest.mark.django_db(transaction=True)  # publication happens on commit


def _assert_published_like_beat(message: dict, schedule: PeriodicTask) -> None:
    headers = message["headers"]
    assert headers["task"] == "tasks_app.cleanup_sessions"
    assert headers["periodic_task_name"] == NAME
    assert headers["origin"] == "ops"
    assert headers["expires"] is not None  # 120 s from sending, as an ISO date
    assert message["properties"]["priority"] == 7
    assert message["properties"]["delivery_info"]["routing_key"] == schedule.queue


def test_run_now_enqueues_through_the_port_with_beats_options(routed_cleanup):
    queue = InMemoryTaskQueue()

    with transaction.atomic():
        task_id = schedule_run_now(schedule=routed_cleanup, task_queue=queue)

    [sent] = queue.published
    assert (sent.task_id, sent.name, sent.args, sent.kwargs) == (
        task_id,
        "tasks_app.cleanup_sessions",
        (),
        {},
    )
    assert sent.options == PublishOptions(
        queue=routed_cleanup.queue,
        priority=7,
        expires=120,
        headers={"origin": "ops", "periodic_task_name": NAME},
    )
    assert routed_cleanup.last_run_at is None  # beat's ModelEntry read a copy, not this row


def test_admin_run_now_honours_queue_priority_expiry_and_headers(
    client, super_admin, routed_cleanup
):
    client.force_login(super_admin)

    response = client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": "run_tasks", "_selected_action": [routed_cleanup.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 task sent" in response.content.decode()
    messages = wait_for(
        lambda: queued_messages(routed_cleanup.queue), timeout=10, what="the message"
    )
    assert len(messages) == 1
    _assert_published_like_beat(messages[0], routed_cleanup)
    # Published after commit, and marked a moment later, off the request's path.
    wait_for(lambda: not records_unpublished().exists(), timeout=5, what="the publish mark")


def test_api_run_now_publishes_the_same(admin, routed_cleanup):
    api = APIClient()
    api.force_authenticate(admin)

    response = api.post(f"/api/schedules/{routed_cleanup.pk}/run/")

    assert response.status_code == 202
    messages = wait_for(
        lambda: queued_messages(routed_cleanup.queue), timeout=10, what="the message"
    )
    assert messages[0]["headers"]["id"] == response.json()["task_id"]
    _assert_published_like_beat(messages[0], routed_cleanup)


def test_run_now_while_the_broker_is_down_keeps_its_options_until_the_relay_publishes_them(
    routed_cleanup,
):
    down = publisher_app(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    clicked_at = timezone.now()
    with transaction.atomic():
        task_id = schedule_run_now(
            schedule=routed_cleanup, task_queue=CeleryTaskQueue(celery_app=down)
        )

    row = TaskRecord.objects.get(result_id=task_id)  # the click still succeeded
    assert row.publish_failures == 1 and "OperationalError" in row.last_publish_error
    assert row.queue == routed_cleanup.queue
    assert row.options["priority"] == 7
    assert row.options["headers"] == {"origin": "ops", "periodic_task_name": NAME}
    # The expiry became a deadline at the click: a relay later must not give it 120 s more.
    deadline = parse_datetime(row.options["expires"])
    assert datetime.timedelta(seconds=119) < deadline - clicked_at < datetime.timedelta(seconds=121)

    call_command("relay_outbox")  # the relay, on the real broker

    [message] = wait_for(
        lambda: queued_messages(routed_cleanup.queue), timeout=10, what="the relayed message"
    )
    assert message["headers"]["id"] == task_id
    _assert_published_like_beat(message, routed_cleanup)
    assert parse_datetime(message["headers"]["expires"]) == deadline
    assert not records_unpublished().exists()


def test_a_worker_on_the_schedules_queue_files_the_run_under_the_schedule(
    start_worker, routed_cleanup
):
    worker = start_worker(queues=routed_cleanup.queue)

    task_id = schedule_run_now(schedule=routed_cleanup)

    result = wait_for(
        lambda: TaskResult.objects.filter(task_id=task_id, status="SUCCESS").first(),
        timeout=30,
        what="the run on the schedule's queue",
    )
    assert result.worker == worker.hostname
    assert result.periodic_task_name == NAME  # the header reached the worker
