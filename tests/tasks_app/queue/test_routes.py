"""Routes: reports go to the `reports` queue, email to `emails`, the rest to `default`, unless
the caller names a queue; and a full reports worker does not hold back a welcome email.

The workers here have the compose shape (a reports worker with one slot, a worker for emails and
default sending through an aiosmtpd server) on private queue names, given to this process's
routes and to the workers' environment, so the session's worker takes none of their messages.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import transaction
from django_celery_results.models import TaskResult

from accounts.services import user_create
from project.celery import app as celery_app
from tasks_app.models import UserReport
from tasks_app.queue.celery import CeleryTaskQueue
from tasks_app.selectors.broker import queue_lengths
from tasks_app.services.emails.queueing import email_queue
from tasks_app.services.reports.export import report_tmp_path
from tasks_app.services.reports.requests import report_request
from tests.support import worker as worker_support
from tests.support.polling import wait_for
from tests.support.smtp import SmtpServer
from tests.support.worker import CeleryWorker, private_queue

pytestmark = [
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

KINDS = ("default", "reports", "emails")
REPORT_SLOTS = 1


@pytest.fixture
def queues(settings) -> Iterator[dict[str, str]]:
    """Private names for the three queues, routed to in this process; the workers' environment."""
    suffix = uuid.uuid4().hex[:8]
    names = {kind: f"{kind}-{suffix}" for kind in KINDS}
    env: dict[str, str] = {}
    for kind, name in names.items():
        env.update(private_queue(settings, kind, name))
    yield names
    celery_app.control.purge()  # what a failed test left on the private queues


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def start_routed_workers(queues, smtp, start_worker) -> Callable[[], tuple[CeleryWorker, ...]]:
    """`start()`: the reports worker and the emails + default worker, as compose runs them."""
    env = {var: queues[kind] for kind, var in worker_support.QUEUE_VARIABLES.items()}

    def start() -> tuple[CeleryWorker, CeleryWorker]:
        other = start_worker(
            queues=f"{queues['emails']},{queues['default']}", **smtp.worker_env(**env)
        )
        reports = start_worker(queues=queues["reports"], concurrency=REPORT_SLOTS, **env)
        return reports, other

    return start


def succeeded(task_id: str) -> TaskResult:
    return wait_for(
        lambda: TaskResult.objects.filter(task_id=task_id, status="SUCCESS").first(),
        what=f"task {task_id} to succeed",
    )


def test_a_queue_named_by_the_caller_wins_over_the_route(queues):
    router = celery_app.amqp.router

    routed = router.route({}, "tasks_app.generate_user_report")
    asked = router.route({"queue": "ops"}, "tasks_app.generate_user_report")

    assert (routed["queue"].name, asked["queue"].name) == (queues["reports"], "ops")


def test_a_worker_started_without_queues_consumes_all_three(celery_worker, settings):
    """The session's worker is started as `make run`'s (no --queues)."""
    replies = celery_app.control.inspect([celery_worker.hostname], timeout=5).active_queues()

    consumed = {queue["name"] for queue in replies[celery_worker.hostname]}
    assert consumed == set(settings.TASK_QUEUES.values()) == {"default", "reports", "emails"}


def test_each_task_lands_on_its_queue_and_runs_on_that_queue_s_worker(queues, start_routed_workers):
    report = report_request(requested_by=None, filters={})
    email = email_queue(to="routed@example.com", subject="Routed", body_html="<p>hi</p>")
    ping = CeleryTaskQueue().enqueue("tasks_app.ping")

    assert queue_lengths(list(queues.values())) == dict.fromkeys(queues.values(), 1)

    reports_worker, other_worker = start_routed_workers()
    report.refresh_from_db()
    email.refresh_from_db()
    assert succeeded(report.task_id).worker == reports_worker.hostname
    assert succeeded(email.task_id).worker == other_worker.hostname
    assert succeeded(ping).worker == other_worker.hostname


@pytest.fixture
def hold_reports() -> Iterator[Callable[[list[UserReport]], None]]:
    """`hold(reports)` makes their exports wait until the test ends, on any database: each
    report's temporary file is a named pipe, and opening it to write blocks until it has a reader.

    At the end a reader opens and closes each pipe, and the pipe is removed: a blocked export wakes
    up, fails on the closed pipe (its report is marked failed), and one not started yet writes an
    ordinary file."""
    pipes: list[Path] = []

    def hold(reports: list[UserReport]) -> None:
        for report in reports:
            path = report_tmp_path(report.pk)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(path)
            pipes.append(path)

    yield hold
    for path in pipes:
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        path.unlink()


def test_a_welcome_email_arrives_within_seconds_while_reports_fill_the_reports_worker(
    queues, smtp, start_routed_workers, hold_reports
):
    start_routed_workers()
    with transaction.atomic():  # held before the commit publishes them
        reports = [report_request(requested_by=None, filters={}) for _ in range(REPORT_SLOTS + 2)]
        hold_reports(reports)
    wait_for(
        lambda: UserReport.objects.filter(status=UserReport.Status.RUNNING).exists(),
        what="a report to be running (blocked on its file)",
    )

    started = time.monotonic()
    user_create(username="newcomer", email="newcomer@example.com", password="x-Secret-123")
    wait_for(lambda: smtp.handler.to("newcomer@example.com"), timeout=10, interval=0.02)
    elapsed = time.monotonic() - started

    unfinished = UserReport.objects.exclude(
        status__in=[UserReport.Status.COMPLETED, UserReport.Status.FAILED]
    ).count()
    print(f"welcome email after {elapsed:.2f}s; {unfinished} reports not finished")
    assert unfinished > REPORT_SLOTS, "the reports worker must still be full when it arrives"
    assert elapsed < 5
