"""Scenario 5: a deploy stops a worker (SIGTERM) while it works.

SIGTERM is a warm shutdown: the worker takes nothing new and lets its running tasks finish;
what it had not started stays in the broker. What outlives the supervisor's grace period is
killed (SIGKILL): an email's message comes back (acks_late), a report is failed as lost when the
worker is back. With a cold shutdown on SIGTERM (REMAP_SIGTERM=SIGQUIT), running tasks get
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT to finish; the rest are cancelled: an acks_late task's
message goes back to the queue at once and runs to its end on the next worker.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from celery import states
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tasks_app.models import EmailLog, TaskAttempt, UserReport
from tasks_app.services.emails.queueing import email_queue
from tasks_app.services.reports.export import report_tmp_path
from tasks_app.services.reports.requests import report_request
from tests.faults import lost_work
from tests.faults.lost_work import on_production_services, unacked
from tests.support import worker as worker_support
from tests.support.broker import queued_messages
from tests.support.polling import wait_for
from tests.support.smtp import SmtpServer
from tests.support.worker import CeleryWorker, private_queue

pytestmark = [pytest.mark.django_db(transaction=True), on_production_services]

fault_worker = lost_work.fault_worker

GRACE = 3.0  # the supervisor's grace period before its SIGKILL (compose: stop_grace_period)
SOFT_SHUTDOWN = 2.0
BATCH = 100


@contextmanager
def users_table_locked() -> Iterator[None]:
    """An export started meanwhile waits for the users table: it outlives any grace period."""
    url = worker_support.test_database_url().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as lock:
        lock.execute("LOCK TABLE accounts_user IN ACCESS EXCLUSIVE MODE")
        yield
        lock.rollback()


def stop_as_a_supervisor(worker: CeleryWorker, grace: float) -> float:
    """SIGTERM to the main process, SIGKILL to the group after `grace`; the seconds it took."""
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    try:
        worker.process.wait(timeout=grace)
    except Exception:
        worker.kill()
    return time.monotonic() - started


def sent(ids: list[int]) -> int:
    return EmailLog.objects.filter(pk__in=ids, status="sent").count()


def report_ended(report: UserReport) -> UserReport:
    return wait_for(
        lambda: UserReport.objects.exclude(status="running").filter(pk=report.pk).first(),
        timeout=30,
        what="the report to end",
    )


def test_a_deploy_loses_no_email_and_fails_a_report_longer_than_the_grace_period(
    fault_worker, settings
):
    smtp = SmtpServer().start()
    # A server answering in 50 ms makes the batch last seconds: the stop lands in its middle
    # whatever the machine.
    smtp.handler.delay = 0.05
    try:
        queue = f"deploy-{uuid.uuid4().hex[:8]}"
        env = smtp.worker_env(
            EMAIL_TIMEOUT="1",
            CELERY_BROKER_VISIBILITY_TIMEOUT="5",  # what the SIGKILL leaves unacked comes back
            **private_queue(settings, "emails", queue),
            **private_queue(settings, "reports", queue),
        )
        with users_table_locked():
            report = report_request(requested_by=None, filters={})
            old = fault_worker(queues=queue, **env)  # one process exports, the other sends
            wait_for(lambda: report_tmp_path(report.pk).exists(), what="the export to start")
            ids = [
                email_queue(to=f"{queue}-{i}@example.com", subject=f"{i}", body_html="<p>.</p>").pk
                for i in range(BATCH)
            ]
            wait_for(lambda: sent(ids) >= 10, interval=0.01, what="10 emails sent")
            sent_at_stop = sent(ids)
            took = stop_as_a_supervisor(old, GRACE)
            fault_worker(like=old, queues=queue, **env)  # the new release, under the same name
            report = report_ended(report)
        wait_for(
            lambda: not queued_messages(queue) and not unacked(queue) and sent(ids) == BATCH,
            timeout=60,
            what="every email sent",
        )
    finally:
        smtp.stop()

    received = Counter(r.message_id for r in smtp.handler.received)
    duplicates = sum(n - 1 for n in received.values())
    print(
        f"\nwarm shutdown at {sent_at_stop}/{BATCH} emails sent, SIGKILL after {took:.1f} s: "
        f"{len(received)} distinct emails, {duplicates} duplicate(s); report {report.status}"
    )
    assert 0 < sent_at_stop < BATCH, "the stop must land in the middle of the batch"
    assert len(received) == BATCH and duplicates <= 1  # one process was sending
    assert took >= GRACE  # the running export held the warm shutdown until the SIGKILL
    assert report.status == UserReport.Status.FAILED and "worker was lost" in report.error
    assert TaskResult.objects.get(task_id=report.task_id).status == states.FAILURE


def test_a_cold_shutdown_lets_short_tasks_finish_and_requeues_the_long_ones(fault_worker, settings):
    queue = f"deploy-cold-{uuid.uuid4().hex[:8]}"
    env = {
        "REMAP_SIGTERM": "SIGQUIT",  # SIGTERM is a cold shutdown, after the soft one
        "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": str(SOFT_SHUTDOWN),
        "TEST_WORKER_IMPORTS": "tests.faults.fault_tasks",
        **private_queue(settings, "reports", queue),
    }
    with users_table_locked():
        report = report_request(requested_by=None, filters={})
        old = fault_worker(queues=queue, concurrency=3, **env)
        short = celery_app.send_task("tests.faults.sleep", args=[1.0], queue=queue).id
        long = celery_app.send_task("tests.faults.sleep", args=[6.0], queue=queue).id
        wait_for(
            lambda: (
                TaskAttempt.objects.filter(task_id__in=[short, long]).count() == 2
                and report_tmp_path(report.pk).exists()
            ),
            what="all three tasks running",
        )
        took = stop_as_a_supervisor(old, grace=SOFT_SHUTDOWN + 10)
        assert old.process.returncode is not None and took < SOFT_SHUTDOWN + 10
        first_attempts = {
            a.task_id: a.outcome for a in TaskAttempt.objects.filter(task_id__in=[short, long])
        }
        fault_worker(like=old, queues=queue, concurrency=3, **env)
        report = report_ended(report)
    wait_for(
        lambda: TaskResult.objects.filter(task_id=long, status="SUCCESS").exists(),
        timeout=60,
        what="the long task to run to its end on the new worker",
    )

    long_attempts = list(
        TaskAttempt.objects.filter(task_id=long)
        .order_by("number")
        .values_list("outcome", flat=True)
    )
    print(
        f"\ncold shutdown took {took:.1f} s (soft shutdown {SOFT_SHUTDOWN} s); short task "
        f"{first_attempts[short]}; long task attempts {long_attempts}; report {report.status}"
    )
    assert first_attempts[short] == "success"  # finished within the soft shutdown time
    assert long_attempts == ["lost", "success"]  # returned to the queue, run again in full
    assert report.status == UserReport.Status.FAILED and "worker was stopped" in report.error
