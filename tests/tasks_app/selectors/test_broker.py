"""Queue lengths from the broker itself (kombu's passive declare), on whichever broker the tests
run: what waits in each queue shows in the admin overview, and a broker that does not answer
shows "unknown" instead of an error. Workers online: a ping that answers in its timeout."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from django.urls import reverse

from project.celery import app as celery_app
from tasks_app.queue.celery import CeleryTaskQueue
from tasks_app.selectors.broker import (
    PROBE_TIMEOUT,
    monitored_queues,
    queue_lengths,
    workers_online,
)
from tests.support.broker import publisher_app
from tests.support.ports import free_port
from tests.support.worker import private_queue

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

OVERVIEW = reverse("admin:tasks_app_taskoverview_changelist")


@pytest.fixture
def reports_queue(settings) -> Iterator[str]:
    """The reports route on a queue no worker consumes, emptied afterwards."""
    name = f"reports-{uuid.uuid4().hex[:8]}"
    private_queue(settings, "reports", name)
    yield name
    with celery_app.connection_for_write() as conn, conn.channel() as channel:
        channel.queue_purge(name)


def test_messages_waiting_on_a_queue_are_counted_and_shown_in_the_overview(
    reports_queue, client, super_admin
):
    for _ in range(3):
        CeleryTaskQueue().enqueue("tasks_app.generate_user_report", report_id=str(uuid.uuid4()))

    unknown = f"unknown-{uuid.uuid4().hex[:8]}"  # a queue the broker never saw holds nothing
    assert reports_queue in monitored_queues()
    assert queue_lengths([reports_queue, unknown]) == {reports_queue: 3, unknown: 0}
    client.force_login(super_admin)
    page = client.get(OVERVIEW).content.decode()
    assert f"<tr><td>{reports_queue}</td><td>3</td></tr>" in page


def test_health_details_show_the_messages_waiting_per_queue(reports_queue, admin_client):
    for _ in range(2):
        CeleryTaskQueue().enqueue("tasks_app.generate_user_report", report_id=str(uuid.uuid4()))

    broker = admin_client.get("/api/health/").json()["checks"]["broker"]

    assert broker["status"] == "up"
    assert broker["detail"]["queues"][reports_queue] == 2


def test_a_broker_that_does_not_answer_gives_unknown_lengths():
    down = publisher_app(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    assert queue_lengths(["default"], app=down) == {"default": None}


def test_workers_online_name_the_running_worker_after_the_probe_timeout(celery_worker):
    started = time.monotonic()
    online = workers_online()
    elapsed = time.monotonic() - started

    assert celery_worker.hostname in online
    # Celery's own ping can take about twice its timeout; the answer comes after one.
    assert PROBE_TIMEOUT <= elapsed < PROBE_TIMEOUT + 0.25


def test_a_broker_that_does_not_answer_gives_no_worker_list_at_once():
    down = publisher_app(f"redis://127.0.0.1:{free_port()}/0")

    started = time.monotonic()
    assert workers_online(app=down) is None
    assert time.monotonic() - started < PROBE_TIMEOUT
