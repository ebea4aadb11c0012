"""The Celery adapter of the task-queue port, against the real broker and a worker: the id comes
back at once, publication waits for the commit, a rollback publishes nothing, options are kept on
the task's ledger record, and a publish that fails (broker down) leaves the record unpublished
for the relay. Run now's options across an outage: tests/tasks_app/schedules/test_run_now.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_celery_results.models import TaskResult

from project.visibility import EtaBeyondVisibilityTimeout
from tasks_app.models import TaskRecord
from tasks_app.queue import PublishOptions
from tasks_app.queue.celery import CeleryTaskQueue
from tasks_app.selectors.ledger import task_get
from tests.support.broker import publisher_app
from tests.support.polling import wait_for
from tests.support.ports import free_port

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


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
        row = TaskRecord.objects.get(result_id=task_id)  # written in the caller's transaction
        assert row.queue == settings.TASK_QUEUES["default"]  # nobody asked: the route's queue
        assert row.published_at is None
        assert task_get(task_id).status == "PENDING"  # the history answers from the record

    assert result_of(task_id).worker == celery_worker.hostname
    # The publish is marked a moment later, off the caller's path.
    wait_for(lambda: TaskRecord.objects.filter(pk=task_id, published_at__isnull=False).exists())
    row.refresh_from_db()
    assert row.publish_failures == 0


def test_a_rolled_back_transaction_publishes_nothing(celery_worker):
    queue = CeleryTaskQueue()
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = queue.enqueue("tasks_app.ping")
        raise RuntimeError("the caller fails after enqueueing")
    marker = queue.enqueue("tasks_app.ping")  # enqueued after: done once the queue has drained

    result_of(marker)
    assert not TaskResult.objects.filter(task_id=rolled_back).exists()
    assert not TaskRecord.objects.filter(result_id=rolled_back).exists()


def test_enqueue_at_records_the_eta_and_the_task_runs_at_the_eta(celery_worker):
    eta = timezone.now() + timedelta(seconds=2)
    with transaction.atomic():
        task_id = CeleryTaskQueue().enqueue_at("tasks_app.ping", eta)
        assert TaskRecord.objects.get(result_id=task_id).eta == eta

    assert result_of(task_id).date_done >= eta


def test_options_are_stored_on_the_row_with_seconds_turned_into_deadlines():
    before = timezone.now()
    with pytest.raises(RuntimeError), transaction.atomic():  # rolled back: nothing is published
        task_id = CeleryTaskQueue().enqueue(
            "tasks_app.ping",
            options=PublishOptions(
                queue="ops", priority=3, expires=60, headers={"origin": "ops"}, countdown=5
            ),
        )
        row = TaskRecord.objects.get(result_id=task_id)
        raise RuntimeError("inspected; roll back")

    assert row.queue == "ops"
    assert timedelta(seconds=5) <= row.eta - before < timedelta(seconds=6)
    assert {k: v for k, v in row.options.items() if k != "expires"} == {
        "priority": 3,
        "headers": {"origin": "ops"},
    }
    # JSON on the row: an ISO deadline, to the millisecond (DjangoJSONEncoder's precision).
    expires = parse_datetime(row.options["expires"])
    assert timedelta(seconds=60, milliseconds=-1) < expires - before < timedelta(seconds=61)


def test_the_seed_keywords_countdown_and_queue_are_publish_options_not_task_arguments():
    before = timezone.now()
    with pytest.raises(RuntimeError), transaction.atomic():
        task_id = CeleryTaskQueue().enqueue("tasks_app.ping", countdown=5, queue="ops")
        row = TaskRecord.objects.get(result_id=task_id)
        raise RuntimeError("inspected; roll back")

    assert (row.queue, row.task_args, row.task_kwargs) == ("ops", "[]", "{}")
    assert timedelta(seconds=5) <= row.eta - before < timedelta(seconds=6)


def test_an_eta_beyond_the_redis_visibility_timeout_is_refused_before_anything_is_written(
    settings,
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/1"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    too_far = timezone.now() + timedelta(hours=2)

    with pytest.raises(EtaBeyondVisibilityTimeout), transaction.atomic():
        CeleryTaskQueue().enqueue_at("tasks_app.ping", too_far)

    assert not TaskRecord.objects.exists()


def unreachable_like(broker_url: str) -> str:
    """A URL of the same kind of broker that nothing listens on: the broker is down (a private
    RabbitMQ would take long to start and stop, so an outage is this; the embedded broker cannot
    be down, so there it is Redis's)."""
    scheme = "amqp" if broker_url.startswith("amqp") else "redis"
    return f"{scheme}://guest:guest@127.0.0.1:{free_port()}/0"


def test_a_failed_publish_is_kept_and_relayed_later(celery_worker, settings):
    down = publisher_app(unreachable_like(settings.CELERY_BROKER_URL))
    with transaction.atomic():
        task_id = CeleryTaskQueue(celery_app=down).enqueue("tasks_app.ping")

    row = TaskRecord.objects.get(result_id=task_id)  # the caller's commit still succeeded
    assert row.publish_failures == 1 and "OperationalError" in row.last_publish_error
    assert row.published_at is None

    call_command("relay_outbox")  # the relay, on the real broker

    assert result_of(task_id).task_name == "tasks_app.ping"
    row.refresh_from_db()
    assert row.published_at is not None
