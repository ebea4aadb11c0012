"""`GET /metrics` counts what real workers, beat and the broker do, and is never open."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tasks_app.models import EmailLog, TaskAttempt
from tasks_app.queue import get_task_queue
from tasks_app.queue.celery import CeleryTaskQueue
from tasks_app.services.emails import email_queue
from tasks_app.tasks import ping
from tests.support.broker import publisher_app
from tests.support.metrics import Samples, parse, sample
from tests.support.polling import wait_for
from tests.support.ports import free_port
from tests.support.worker import private_queue

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "metrics-scrape-token-for-tests"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def scrape() -> Samples:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(response.content.decode())

    return scrape


def test_task_counts_and_run_times_move_while_a_worker_runs_tasks(celery_worker, scrape):
    before = scrape()

    with transaction.atomic():  # through the port, which stamps the time queued
        sent = [get_task_queue().enqueue("tasks_app.ping") for _ in range(3)]
    failed = celery_app.send_task("tasks_app.ping", args=["unexpected"]).id  # TypeError in the task
    wait_for(
        lambda: (
            TaskResult.objects.filter(
                task_id__in=[*sent, failed], status__in=["SUCCESS", "FAILURE"]
            ).count()
            == 4
        ),
        what="the four results",
    )
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("tasks_finished_total", task_name="tasks_app.ping", state="SUCCESS") >= 3
    assert moved("tasks_finished_total", task_name="tasks_app.ping", state="FAILURE") >= 1
    assert moved("tasks_runtime_seconds_count", task_name="tasks_app.ping") >= 4
    assert moved("tasks_runtime_seconds_bucket", task_name="tasks_app.ping", le="+Inf") >= 4
    assert moved("tasks_runtime_seconds_sum", task_name="tasks_app.ping") > 0
    # A ping takes milliseconds: the one-second bucket holds every one of them.
    assert moved("tasks_runtime_seconds_bucket", task_name="tasks_app.ping", le="1") >= 4
    assert moved("tasks_queue_wait_seconds_count", task_name="tasks_app.ping") >= 3
    assert sample(after, "tasks_workers_online") >= 1
    assert sample(after, "tasks_broker_up") == 1


def attempt(name: str, *, runtime: float, wait: float, started: datetime.datetime) -> None:
    """A finished attempt of a task `name` (its history row and its ledger attempt)."""
    task_id = str(uuid.uuid4())
    TaskResult.objects.create(task_id=task_id, task_name=name, status="SUCCESS")
    TaskAttempt.objects.create(
        task_id=task_id, task_name=name, number=1, started_at=started, wait_seconds=wait,
        runtime_seconds=runtime,
        finished_at=started + datetime.timedelta(seconds=runtime), outcome="success",
    )  # fmt: skip


def test_run_and_wait_times_fall_in_their_buckets_and_yesterday_is_not_counted(scrape):
    now = timezone.now()
    for seconds in (0.2, 3, 700):
        attempt("tasks_app.timed", runtime=seconds, wait=seconds, started=now)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    attempt("tasks_app.timed", runtime=1, wait=1, started=midnight - datetime.timedelta(minutes=1))

    samples = scrape()

    def bucket(metric: str, le: str) -> float:
        return sample(samples, f"{metric}_bucket", task_name="tasks_app.timed", le=le)

    runtime = "tasks_runtime_seconds"
    assert [bucket(runtime, le) for le in ("0.1", "0.25", "5", "600", "+Inf")] == [0, 1, 2, 2, 3]
    assert sample(samples, f"{runtime}_sum", task_name="tasks_app.timed") == pytest.approx(703.2)
    wait = "tasks_queue_wait_seconds"
    assert [bucket(wait, le) for le in ("0.1", "0.5", "5", "900", "+Inf")] == [0, 1, 2, 3, 3]


def test_a_task_started_past_its_time_limit_counts_as_stalled(scrape):
    now = timezone.now()
    for started in (now, now - datetime.timedelta(hours=2)):  # no time limit: stalled after 1 h
        TaskResult.objects.create(
            task_id=str(uuid.uuid4()), task_name="tasks_app.long", status="STARTED",
            date_started=started,
        )  # fmt: skip

    samples = scrape()

    assert sample(samples, "tasks_in_progress", task_name="tasks_app.long", state="STARTED") == 1
    assert sample(samples, "tasks_in_progress", task_name="tasks_app.long", state="STALLED") == 1


def test_queue_depth_counts_messages_no_worker_takes(celery_worker, scrape, settings):
    queue = f"metrics-{uuid.uuid4().hex[:8]}"  # the session worker does not consume it
    private_queue(settings, "default", queue)
    assert sample(scrape(), "tasks_queue_messages", queue=queue) == 0

    for _ in range(3):
        ping.delay()

    try:
        assert sample(scrape(), "tasks_queue_messages", queue=queue) == 3
    finally:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)


def test_emails_sent_are_counted(celery_worker, scrape):
    before = sample(scrape(), "tasks_emails_total", status="sent")

    log = email_queue(to="metrics@example.com", subject="Counted", body_html="<p>one</p>")
    wait_for(lambda: EmailLog.objects.filter(pk=log.pk, status="sent").exists(), what="the send")

    assert sample(scrape(), "tasks_emails_total", status="sent") >= before + 1


def test_outbox_counts_tasks_the_broker_did_not_take_until_the_relay_publishes_them(scrape):
    assert sample(scrape(), "tasks_outbox_messages") == 0
    down = publisher_app(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens: broker down
    with transaction.atomic():
        CeleryTaskQueue(celery_app=down).enqueue("tasks_app.ping")

    waiting = scrape()
    call_command("relay_outbox")  # on the settings' broker, which is up
    drained = scrape()

    assert sample(waiting, "tasks_outbox_messages") == 1
    assert sample(waiting, "tasks_outbox_oldest_age_seconds") > 0
    assert sample(drained, "tasks_outbox_messages") == 0
    assert sample(drained, "tasks_outbox_oldest_age_seconds") == 0


def test_beat_heartbeat_age_is_fresh_while_beat_runs(beat, scrape):
    samples = scrape()

    assert 0 <= sample(samples, "tasks_beat_heartbeat_age_seconds") < 30
    assert sample(samples, "tasks_beat_running") == 1


def test_reports_are_counted_by_status(scrape, admin):
    from tasks_app.models import UserReport

    UserReport.objects.create(requested_by=admin, status=UserReport.Status.FAILED)
    samples = scrape()

    assert sample(samples, "tasks_reports", status="failed") == 1
    assert sample(samples, "tasks_reports", status="completed") == 0


@pytest.mark.parametrize(
    ("configured", "sent"),
    [("", ""), ("", "anything"), (TOKEN, ""), (TOKEN, "wrong-token")],
    ids=["no-token-configured", "no-token-configured-any-sent", "none-sent", "wrong"],
)
def test_metrics_are_refused_without_the_token(client, settings, configured, sent):
    settings.METRICS_TOKEN = configured
    headers = {"Authorization": f"Bearer {sent}"} if sent else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 403
    assert b"tasks_" not in response.content


def test_metrics_are_refused_to_a_signed_in_user_who_is_not_staff(client, plain_user, settings):
    settings.METRICS_TOKEN = TOKEN
    client.force_login(plain_user)

    assert client.get("/metrics").status_code == 403


def test_staff_see_metrics_without_a_token(admin_client, settings):
    settings.METRICS_TOKEN = ""

    response = admin_client.get("/metrics")

    assert response.status_code == 200
    assert b"# TYPE tasks_finished_total counter" in response.content
