"""Scenario 1: a worker SIGKILLed mid-work, its pool process or its main process.

Every email of a batch arrives; the duplicates the one open window allows (the SMTP server said
250, the worker died before recording it) are counted and printed, and bounded. A report being
exported ends failed with a reason within a minute of a worker being back, and the history shows
the lost attempt; no attempt stays running.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from celery import states
from django_celery_results.models import TaskResult

import tasks_app.tasks  # noqa: F401 (a worker's task registry, which the sweep reads)
from tasks_app.ledger.lost import attempts_lose
from tasks_app.models import EmailLog, TaskAttempt, UserReport
from tasks_app.selectors.broker import queue_lengths, workers_online
from tasks_app.services.emails.housekeeping import emails_requeue_stale
from tasks_app.services.emails.queueing import email_queue
from tasks_app.services.reports.export import report_tmp_path
from tasks_app.services.reports.requests import report_request
from tests.faults import lost_work
from tests.faults.lost_work import (
    kill_main_process,
    kill_pool_process,
    on_production_services,
    pool_processes,
    unacked,
)
from tests.support import worker as worker_support
from tests.support.broker import queued_messages
from tests.support.polling import wait_for
from tests.support.smtp import SmtpServer
from tests.support.worker import private_queue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    on_production_services,
    pytest.mark.timeout(180),
]

fault_worker = lost_work.fault_worker

BATCH = 200
KINDS = ["pool process", "main process"]


@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer().start()
    # A server answering in 50 ms makes the batch last seconds: the kill lands in its middle
    # whatever the machine (unanswered, a worker once sent all 200 before this process, whose GIL
    # the server shares, had seen 20 of them sent).
    server.handler.delay = 0.05
    yield server
    server.stop()


def sent(ids: list[int]) -> int:
    return EmailLog.objects.filter(pk__in=ids, status=EmailLog.Status.SENT).count()


def running_attempts(task_name: str):
    return TaskAttempt.objects.filter(task_name=task_name, outcome="running")


@pytest.mark.parametrize("kind", KINDS)
def test_every_email_of_a_batch_arrives_when_a_worker_is_killed_mid_batch(
    kind, smtp, fault_worker, settings
):
    queue = f"emails-kill-{uuid.uuid4().hex[:8]}"
    env = smtp.worker_env(
        EMAIL_TIMEOUT="1",  # keeps the claim lease of an interrupted send short
        **private_queue(settings, "emails", queue),
        CELERY_BROKER_VISIBILITY_TIMEOUT="5",  # a dead worker's messages come back after 5 s
        CELERY_TASK_DEFAULT_RETRY_DELAY="1",
    )
    ids = [
        email_queue(to=f"{queue}-{i}@example.com", subject=f"Batch {i}", body_html=f"<p>{i}</p>").pk
        for i in range(BATCH)
    ]
    first = fault_worker(queues=queue, **env)
    wait_for(lambda: sent(ids) >= 20, timeout=60, interval=0.02, what="20 emails sent")
    sent_at_kill = sent(ids)  # counted at the kill, not after the restart below
    if kind == "pool process":
        kill_pool_process(first, pool_processes(first)[0])
    else:
        kill_main_process(first)
        fault_worker(like=first, queues=queue, **env)  # the supervisor starts it again

    wait_for(
        lambda: not queued_messages(queue) and not unacked(queue),
        timeout=90,
        what="the broker to hold no message of the batch",
    )
    # A message Redis lost between its pop and its unacked record: the rows are the record.
    requeued = emails_requeue_stale(older_than=timedelta(0))
    wait_for(lambda: sent(ids) == BATCH, timeout=60, what=f"all {BATCH} emails sent")

    received = Counter(
        r.message_id for r in smtp.handler.received if r.rcpt_tos[0].startswith(queue)
    )
    expected = set(EmailLog.objects.filter(pk__in=ids).values_list("message_id", flat=True))
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    # Nothing stays running: what the kill interrupted (if a process was mid-task) is lost.
    wait_for(
        lambda: (
            attempts_lose(alive=workers_online()) >= 0
            and not running_attempts("tasks_app.send_email").exists()
        ),
        timeout=30,
        what="no email attempt left running",
    )
    lost = TaskAttempt.objects.filter(task_name="tasks_app.send_email", outcome="lost").count()
    print(
        f"\n{kind} killed at {sent_at_kill}/{BATCH} sent: {len(received)} distinct delivered, "
        f"{len(duplicates)} duplicate(s), {lost} lost attempt(s), {requeued} requeued by the sweep"
    )
    assert 0 < sent_at_kill < BATCH, "the kill must land in the middle of the batch"
    assert set(received) == expected  # none lost
    # The open window: at most one per pool process that was sending, each with its row's
    # Message-ID (recognisable), and only for a row that needed a second attempt.
    assert len(duplicates) <= 2 and all(n == 2 for n in duplicates.values())
    assert all(EmailLog.objects.get(message_id=mid).attempts >= 2 for mid in duplicates)


@pytest.mark.parametrize("kind", KINDS)
def test_a_report_whose_worker_is_killed_ends_failed_once_a_worker_is_back(
    kind, fault_worker, settings, admin_api
):
    queue = f"reports-kill-{uuid.uuid4().hex[:8]}"
    env = private_queue(settings, "reports", queue)
    worker = fault_worker(queues=queue, concurrency=1, **env)
    report = report_request(requested_by=None, filters={})
    url = worker_support.test_database_url().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as lock:
        # The export waits for the users table, as a long or blocked query would: mid-export.
        lock.execute("LOCK TABLE accounts_user IN ACCESS EXCLUSIVE MODE")
        wait_for(lambda: report_tmp_path(report.pk).exists(), interval=0.01, what="the export")
        killed = time.monotonic()
        if kind == "pool process":
            kill_pool_process(worker, pool_processes(worker)[0])  # the main process replaces it
        else:
            kill_main_process(worker)
            # The supervisor starts it again, under the same name.
            restarted = fault_worker(like=worker, queues=queue, concurrency=1, **env)
        wait_for(
            lambda: UserReport.objects.get(pk=report.pk).status != "running",
            timeout=60,
            what="the report to end",
        )
        took = time.monotonic() - killed
        if kind == "main process":
            worker.kill()  # the pool process the dead main process left behind, then the lock
            restarted.assert_running()
        lock.rollback()

    report.refresh_from_db()
    result = TaskResult.objects.get(task_id=report.task_id)
    attempts = admin_api.get(f"/api/tasks/{report.task_id}/").json()["attempts"]
    print(f"\n{kind} killed: the report failed {took:.1f} s after the kill")
    assert report.status == UserReport.Status.FAILED and took < 60
    assert "worker was lost" in report.error
    assert not report_tmp_path(report.pk).exists() and not report.file
    assert result.status == states.FAILURE and "WorkerLostError" in result.result
    assert [(a["number"], a["outcome"]) for a in attempts] == [(1, "lost")]
    assert "WorkerLostError" in attempts[0]["error"]
    assert not running_attempts("tasks_app.generate_user_report").exists()
    assert queue_lengths([queue])[queue] == 0  # not redelivered: a report is asked for again
