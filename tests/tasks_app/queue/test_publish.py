"""The port's publish (tasks_app/queue/publish.py) against `send_task`, on the real broker: the
same message for every task of the project, with and without options; producers kept between
publishes, not after a failure, not across a fork."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from project.celery import app
from tasks_app.ledger.attempts import QUEUED_AT
from tasks_app.queue.publish import PUBLISH_RETRY_POLICY, _idle, kept_publisher, publish_task
from tests.support.broker import publisher_app
from tests.support.ports import free_port

pytestmark = pytest.mark.broker


def project_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.startswith("tasks_app."))


def received(queue: str, count: int) -> list[dict]:
    """The messages in `queue` as a consumer sees them (all but the broker's delivery tag),
    then the queue is removed."""
    seen = []
    declared = app.amqp.queues[queue]  # as Celery declared it when it sent the first one
    with app.connection_for_read() as connection:
        inbox = connection.SimpleQueue(declared)
        try:
            for _ in range(count):
                message = inbox.get(timeout=10)
                message.ack()
                properties = dict(message.properties)
                properties.pop("delivery_tag", None)
                seen.append(
                    {
                        "headers": message.headers,
                        "properties": properties,
                        "routing_key": message.delivery_info.get("routing_key"),
                        "exchange": message.delivery_info.get("exchange"),
                        "content_type": message.content_type,
                        "payload": message.payload,
                    }
                )
        finally:
            inbox.close()
            bound = declared.bind(connection.default_channel)
            bound.delete()
            bound.exchange.delete()
    return seen


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"priority": 5, "headers": {"origin": "ops", QUEUED_AT: "2026-12-06T00:00:00+00:00"}},
        {"headers": {"periodic_task_name": "nightly"}, "routing_key": None},
    ],
    ids=["plain", "priority-and-headers", "schedule-header"],
)
def test_the_port_sends_what_send_task_sends_for_every_task(options):
    queue = f"test-publish-{uuid.uuid4().hex[:8]}"
    names = project_tasks()
    for name in names:
        task_id = str(uuid.uuid4())
        call = {"args": [1, "two"], "kwargs": {"three": 3}, "task_id": task_id, "queue": queue}
        app.send_task(name, retry=True, retry_policy=PUBLISH_RETRY_POLICY, **call, **options)
        with kept_publisher(app) as publisher:
            publish_task(
                app, publisher, name=name, args=call["args"], kwargs=call["kwargs"],
                task_id=task_id, queue=queue, eta=None, options=dict(options),
            )  # fmt: skip

    by_task: dict[str, list[dict]] = {}
    for message in received(queue, 2 * len(names)):  # in any order on the embedded broker
        by_task.setdefault(message["headers"]["task"], []).append(message)

    assert sorted(by_task) == names and len(names) >= 10
    for name, (one, other) in by_task.items():
        assert one == other, name
    # The task's own options travel with it, as send_task sends them.
    assert by_task["tasks_app.send_email"][0]["headers"]["timelimit"] == [35, 30]


def test_a_task_with_an_eta_or_an_expiry_goes_through_send_task_itself():
    queue = f"test-publish-{uuid.uuid4().hex[:8]}"
    soon = timezone.now() + timedelta(minutes=5)
    with kept_publisher(app) as publisher:
        for eta, options in ((soon, {}), (None, {"expires": soon})):
            publish_task(
                app, publisher, name="tasks_app.ping", args=[], kwargs={},
                task_id=str(uuid.uuid4()), queue=queue, eta=eta, options=options,
            )  # fmt: skip

    headers = [message["headers"] for message in received(queue, 2)]

    assert {(h["eta"], h["expires"]) for h in headers} == {
        (soon.isoformat(), None),
        (None, soon.isoformat()),
    }


def test_a_publisher_is_kept_between_publishes_but_not_after_a_failed_one():
    queue = f"test-publish-{uuid.uuid4().hex[:8]}"
    with kept_publisher(app) as first:
        publish_task(
            app, first, name="tasks_app.ping", args=[], kwargs={}, task_id=str(uuid.uuid4()),
            queue=queue, eta=None, options={},
        )  # fmt: skip
    with kept_publisher(app) as again:
        assert again is first
        assert queue in again.declared  # declared with the first message, not with every one
        publish_task(
            app, again, name="tasks_app.ping", args=[], kwargs={}, task_id=str(uuid.uuid4()),
            queue=queue, eta=None, options={},
        )  # fmt: skip
    assert len(received(queue, 2)) == 2

    down = publisher_app(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(OperationalError), kept_publisher(down) as failing:
        publish_task(
            down, failing, name="tasks_app.ping", args=[], kwargs={},
            task_id=str(uuid.uuid4()), queue="test-publish-down", eta=None, options={},
        )  # fmt: skip
    with kept_publisher(down) as next_one:
        assert next_one is not failing


def _kept_in_child(queue) -> None:
    queue.put(len(_idle))


def test_a_forked_child_keeps_none_of_its_parents_producers():
    with kept_publisher(app):
        pass
    assert len(_idle) >= 1
    context = multiprocessing.get_context("fork")
    answer = context.Queue()
    child = context.Process(target=_kept_in_child, args=(answer,))
    child.start()
    child.join(10)

    assert answer.get(timeout=5) == 0
