"""Routes: reports go to the `reports` queue, email to `emails`, the rest to `default`, unless
the caller names a queue; and a full reports worker does not hold back a welcome email.

The workers here have the compose shape (a reports worker with one slot, a worker for emails and
default sending through an aiosmtpd server) on private queue names, given to this process's
routes and to the workers' environment, so the session's worker takes none of their messages.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.db import connection, transaction
from django_celery_results.models import TaskResult

from accounts.services import user_create
from project.celery import app as celery_app
from tasks_app.models import UserReport
from tasks_app.queue.celery import CeleryTaskQueue
from tasks_app.selectors.broker import queue_lengths
from tasks_app.services.emails.queueing import email_queue
from tasks_app.services.reports.requests import report_request
from tests.support import worker as worker_support
from tests.support.polling import wait_for
from tests.support.smtp import SmtpServer
from tests.support.worker import CeleryWorker, private_queue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

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
    """`hold(reports)` makes their exports last until the test ends.

    Postgres: another connection locks the report rows, so the worker's claim (a conditional
    UPDATE) waits. SQLite has no row lock that spares the email worker's writes, so there each
    export is long instead: 300,000 users take over a second to write, and six of them queue up
    for the one slot far longer than an email takes."""
    if connection.vendor != "postgresql":
        _insert_users_in_sql(300_000)
        yield lambda reports: None
        return
    url = worker_support.test_database_url().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as lock:

        def hold(reports: list[UserReport]) -> None:
            ids = [str(report.pk) for report in reports]
            lock.execute(
                "SELECT id FROM tasks_app_userreport WHERE id = ANY(%s::uuid[]) FOR UPDATE", [ids]
            )

        yield hold
        lock.rollback()


def _insert_users_in_sql(count: int) -> None:
    """`count` plain users in one SQLite statement (ids: 32 hex digits, as Django stores UUIDs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
            "INSERT INTO accounts_user (id, username, email, password, role, is_active, created_at)"
            " SELECT lower(hex(randomblob(16))), 'bulk' || i, 'bulk' || i || '@example.com', '!',"
            " 'USER', 1, datetime('2025-01-01', '+' || i || ' seconds') FROM n",
            [count],
        )


def test_a_welcome_email_arrives_within_seconds_while_reports_fill_the_reports_worker(
    queues, smtp, start_routed_workers, hold_reports
):
    with transaction.atomic():
        reports = [report_request(requested_by=None, filters={}) for _ in range(REPORT_SLOTS + 5)]
    hold_reports(reports)
    start_routed_workers()
    wait_for(
        lambda: queue_lengths([queues["reports"]])[queues["reports"]] < len(reports),
        what="the reports worker to take a report",
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
