"""A report stopped by its time limit, or by the death of its worker, never stays running and
leaves no file behind.

Both tests need an export that is still running when the limit or the kill comes. On Postgres a
real lock holds it: an ACCESS EXCLUSIVE lock on the users table, taken by another connection, makes
the worker's query wait (as a long or blocked query would). Nothing blocks a SQLite reader, so
there the export is simply long: 100,000 users take about a second to write, against a 0.3 s limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tasks_app.models import UserReport
from tasks_app.queue import PublishOptions, get_task_queue
from tasks_app.services.reports.export import report_tmp_path
from tasks_app.services.reports.housekeeping import STALE_GRACE, reports_fail_stale
from tasks_app.services.reports.requests import REPORT_TASK, report_create
from tests.support import worker as worker_support
from tests.support.polling import wait_for
from tests.tasks_app.reports.conftest import wait_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

QUEUE = "reports-limits"  # only the worker started here listens on it
SOFT_LIMIT = 0.3


@pytest.fixture
def hold_export(seed_users) -> Iterator[Callable[[], None]]:
    """`hold_export()`, called once the report row exists (its foreign key to users would wait for
    the lock too), makes the coming export last; the lock is released when the test ends.

    SQLite has no lock that holds a reader, so there the export is made long instead: billiard
    checks soft time limits once a second without an event loop (the filesystem broker), so the
    export must outlast the limit plus that second; 300,000 rows take about 2 s here (100,000
    took 0.7 s and sometimes finished first). They are generated in SQL: the ORM's bulk insert
    of as many takes 14 s."""
    if connection.vendor != "postgresql":
        _insert_users_in_sql(300_000)
        yield lambda: None
        return
    seed_users(100)
    url = worker_support.test_database_url().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as lock:

        def take() -> None:
            lock.execute("LOCK TABLE accounts_user IN ACCESS EXCLUSIVE MODE")

        yield take
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


def _files_of(report: UserReport) -> list[Path]:
    media = Path(settings.MEDIA_ROOT) / "reports"
    return [p for p in media.rglob(f"*{str(report.pk)[:8]}*")] if media.exists() else []


def test_soft_time_limit_fails_the_report_and_leaves_no_file(start_worker, hold_export):
    # Celery copies the sender's task limits into the message, where they win over the worker's;
    # web and worker read the same settings, so here both sides get the short limits.
    start_worker(queues=QUEUE, REPORT_SOFT_TIME_LIMIT=str(SOFT_LIMIT), REPORT_TIME_LIMIT="5")
    report = report_create(requested_by=None, filters={})
    hold_export()
    task_id = celery_app.send_task(
        REPORT_TASK,
        kwargs={"report_id": str(report.pk)},
        queue=QUEUE,
        soft_time_limit=SOFT_LIMIT,
        time_limit=5,
    ).id

    wait_finished(report, timeout=30)

    assert report.status == UserReport.Status.FAILED
    assert "time limit" in report.error and f"{SOFT_LIMIT} s" in report.error
    assert not report.file
    assert not report_tmp_path(report.pk).exists()
    assert _files_of(report) == []
    result = wait_for(
        lambda: TaskResult.objects.filter(task_id=task_id, status="FAILURE").first(),
        what="the task's history entry to show the failure",
    )
    assert "SoftTimeLimitExceeded" in result.result


def test_report_of_a_killed_worker_is_failed_by_the_stale_sweep(start_worker, hold_export):
    """acks_late is off: the message is not redelivered (a report that kills its worker would
    loop). The report stays running until the sweep, after the hard time limit, fails it."""
    worker = start_worker(queues=QUEUE)
    report = report_create(requested_by=None, filters={})
    hold_export()
    get_task_queue().enqueue(
        REPORT_TASK, report_id=str(report.pk), options=PublishOptions(queue=QUEUE)
    )
    wait_for(
        lambda: report_tmp_path(report.pk).exists(),
        interval=0.01,
        what="the export to start writing",
    )

    worker.kill()

    report.refresh_from_db()
    assert report.status == UserReport.Status.RUNNING
    assert reports_fail_stale() == 0  # within the time limit it may still be alive

    after_limit = report.started_at + timedelta(seconds=settings.REPORT_TIME_LIMIT) + STALE_GRACE
    assert reports_fail_stale(now=after_limit + timedelta(seconds=1)) == 1

    report.refresh_from_db()
    assert report.status == UserReport.Status.FAILED
    assert "worker was lost" in report.error
    assert not report_tmp_path(report.pk).exists()
    assert _files_of(report) == []
