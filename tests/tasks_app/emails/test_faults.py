"""Faults: a worker SIGKILLed in the middle of a batch, and Redis down while a user is created.

Both need a broker that keeps what it handed out until it is acknowledged. The kill runs on the
tests' broker when it is Redis or RabbitMQ (`-m broker` in CI), else on TEST_REDIS_URL (the
filesystem broker deletes a message as soon as a worker takes it, so it cannot redeliver after a
kill). The outage runs on a private redis-server that the test stops and starts (RabbitMQ's
outage: tests/tasks_app/queue/test_celery_adapter.py, with an unreachable broker URL).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import redis
from celery import Celery

from accounts.models import User
from accounts.services import user_create
from tasks_app.models import EmailLog
from tasks_app.queue.celery import CeleryTaskQueue
from tasks_app.selectors.broker import queue_lengths
from tasks_app.selectors.ledger import record_call, records_unpublished
from tasks_app.services.emails.housekeeping import emails_requeue_stale
from tasks_app.services.emails.queueing import email_queue
from tests.support.broker import publisher_app
from tests.support.polling import wait_for
from tests.support.redis_server import RedisServer
from tests.support.services import redis_url, require, unavailable
from tests.support.smtp import SmtpServer
from tests.support.worker import BASE_DIR, LOG_DIR, BrokerWorker, private_queue, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_worker(django_db_setup) -> Iterator[Callable[..., BrokerWorker]]:
    """Start workers on another broker; each is stopped (by pid) after the test."""
    workers: list[BrokerWorker] = []

    def start(app: Celery, **options) -> BrokerWorker:
        worker = BrokerWorker(app, **options)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


def sent_count(ids: list[int]) -> int:
    return EmailLog.objects.filter(pk__in=ids, status=EmailLog.Status.SENT).count()


def redelivering_broker_url(settings) -> str:
    """The tests' broker if it redelivers what a killed worker never acknowledged, else Redis."""
    if settings.CELERY_BROKER_URL.startswith("amqp"):
        return settings.CELERY_BROKER_URL
    return redis_url()


@pytest.mark.broker
def test_no_email_is_lost_or_duplicated_when_a_worker_is_killed_mid_batch(
    smtp: SmtpServer, broker_worker, settings, monkeypatch
):
    url = redelivering_broker_url(settings)
    require("a broker that redelivers what a killed worker never acknowledged", url)
    app = publisher_app(url)
    queue = f"emails-kill-{uuid.uuid4().hex[:8]}"
    env = smtp.worker_env(
        EMAIL_TIMEOUT="1",  # keeps the claim lease of an interrupted send short (13 s)
        **private_queue(settings, "emails", queue),
        CELERY_BROKER_VISIBILITY_TIMEOUT="10",  # redeliver the killed worker's messages after 10 s
        CELERY_TASK_DEFAULT_RETRY_DELAY="1",
    )
    task_queue = CeleryTaskQueue(celery_app=app)
    logs = [
        email_queue(
            to=f"batch-{i}@example.com",
            subject=f"Batch {i}",
            body_html=f"<p>{i}</p>",
            task_queue=task_queue,
        )
        for i in range(200)
    ]
    ids = [log.pk for log in logs]

    # A server answering in 50 ms makes the batch last seconds, not the moment a fast machine
    # needs: the kill below lands in its middle whatever the machine.
    monkeypatch.setattr(smtp.handler, "delay", 0.05)
    first = broker_worker(app, queues=queue, **env)
    wait_for(lambda: sent_count(ids) >= 20, timeout=60, interval=0.02, what="20 emails sent")
    first.kill()
    sent_at_kill = sent_count(ids)
    broker_worker(app, queues=queue, **env)
    # The new worker drains the queue and, after the visibility timeout, what the killed one held.
    if url.startswith("redis"):
        broker = redis.Redis.from_url(url)
        unacked = lambda: [m for m in broker.hvals("unacked") if queue.encode() in m]  # noqa: E731
    else:
        unacked = list  # RabbitMQ put the killed worker's messages back at once
    wait_for(
        lambda: queue_lengths([queue], app=app)[queue] == 0 and not unacked(),
        timeout=90,
        what="the broker to hold no message for the batch",
    )
    # Redis may still have lost one: BRPOP takes a message before the worker records it as
    # unacknowledged, and the kill can land in between. The rows are the record: the sweep
    # (beat task / command `requeue_stale_emails`) enqueues what is queued with no message left.
    requeued = emails_requeue_stale(older_than=timedelta(0), task_queue=task_queue)
    wait_for(lambda: sent_count(ids) == 200, timeout=60, what="all 200 emails sent")

    # Every row is sent, so nothing can send again: what the server got is final.
    received = Counter(
        r.message_id for r in smtp.handler.received if r.rcpt_tos[0].startswith("batch-")
    )
    expected = set(EmailLog.objects.filter(pk__in=ids).values_list("message_id", flat=True))
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    print(f"killed at {sent_at_kill}/200 sent; swept {requeued}; {len(duplicates)} duplicates")
    assert 0 < sent_at_kill < 200, "the kill must land in the middle of the batch"
    assert set(received) == expected  # none lost
    # None duplicated, except in the window the pipeline cannot close (the server said 250, the
    # worker died before recording it): at most one per process that was sending, recognisable by
    # its Message-ID, and only for a row that needed a second attempt.
    assert len(duplicates) <= 2 and all(n == 2 for n in duplicates.values())
    assert all(EmailLog.objects.get(message_id=mid).attempts >= 2 for mid in duplicates), duplicates


def test_welcome_email_is_sent_once_when_redis_was_down_during_user_creation(
    smtp: SmtpServer, broker_worker, settings
):
    if not shutil.which("redis-server"):
        unavailable("redis-server is not installed: this test starts and stops its own")
    redis = RedisServer().start()
    relay = None
    try:
        app = publisher_app(redis.url)
        queue = f"emails-outage-{uuid.uuid4().hex[:8]}"
        route = private_queue(settings, "emails", queue)
        broker_worker(app, queues=queue, **smtp.worker_env(**route))
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with (LOG_DIR / "relay-outbox.log").open("wb") as log:  # the Procfile's `outbox` process
            relay = subprocess.Popen(
                [sys.executable, "manage.py", "relay_outbox", "--loop", "--interval", "0.2"],
                cwd=BASE_DIR,
                env=worker_env(CELERY_BROKER_URL=redis.url, **route),  # it routes what it relays
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        redis.stop()
        started = time.monotonic()
        user = user_create(
            username="outage",
            email="outage@example.com",
            password="x" * 12,
            task_queue=CeleryTaskQueue(celery_app=app),
        )
        took = time.monotonic() - started

        assert User.objects.filter(pk=user.pk).exists() and took < 5  # created, and promptly
        [pending] = records_unpublished()  # the welcome email's one
        welcome = EmailLog.objects.get(idempotency_key=f"welcome:{user.pk}")
        assert record_call(pending) == ("tasks_app.send_email", [], {"email_log_id": welcome.pk})
        assert pending.publish_failures >= 1

        redis.start()  # empty: whatever the broker held before is gone; the outbox is not
        log = wait_for(
            lambda: EmailLog.objects.filter(recipient="outage@example.com", status="sent").first(),
            timeout=90,
            what="the welcome email after Redis came back",
        )

        assert [r.message_id for r in smtp.handler.to("outage@example.com")] == [log.message_id]
        assert EmailLog.objects.count() == 1 and log.attempts == 1
        wait_for(lambda: not records_unpublished().exists(), what="the outbox to drain")
    finally:
        if relay is not None:
            relay.send_signal(signal.SIGTERM)
            relay.wait(timeout=10)
        redis.cleanup()
