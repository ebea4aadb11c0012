"""The admin overview with its charts at 1,000,000 history rows.

    DATABASE_URL=postgres://root@127.0.0.1:5432/overview_bench \
        .venv/bin/python bench/overview_charts.py

Seeds once, by SQL, 1,000,000 finished tasks spread evenly over the last 7 days (every one inside
the 7-day charts' window, about 143,000 in the last 24 hours: the worst case for the charts), 1 %
failed, over four task names, and one ledger attempt each with a run time between 0 and 10 s.
Counts the settled quarter hours as the schedule count-history-buckets does (timed: its first
run counts the whole week, a later one the quarters settled since).

Then times (median of 7, after one warm-up; with the queries of one run) the overview page
through Django's test client in this process, the page with its workers ping left out (a fixed
wait for replies that has nothing to do with the history), each part on its own, and two floors:
the SQL of one view of the page sent bare through a cursor (no ORM, no template, no ping), and
Django's admin index. Cold: Django's cache emptied before each run (the first view after a start
with the in-process cache, and the first of each minute for the run times; the ping is asked
again); warm: the usual view. The charts with no quarter counted show the worst case left: beat
stopped for a week, or the minutes before its first count.
"""

from __future__ import annotations

import datetime
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.support import setup_django  # noqa: E402

setup_django()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_celery_results.models import TaskResult  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from tasks_app.charts import overview_charts  # noqa: E402
from tasks_app.models import HistoryBucket  # noqa: E402
from tasks_app.selectors.broker import workers_online  # noqa: E402
from tasks_app.selectors.charts import DAY, WEEK, task_run_times, task_throughput  # noqa: E402
from tasks_app.selectors.task_results import task_stats  # noqa: E402
from tasks_app.services.history_buckets import history_buckets_count  # noqa: E402

ROWS = 1_000_000
SEED = """
INSERT INTO django_celery_results_taskresult
    (task_id, task_name, task_args, task_kwargs, status, worker, content_type, content_encoding,
     result, date_created, date_started, date_done)
SELECT 'chart-' || i,
    (ARRAY['tasks_app.send_email','tasks_app.ping','tasks_app.cleanup_sessions',
           'tasks_app.generate_user_report'])[1 + i %% 4],
    '[]', '{}', CASE WHEN i %% 100 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END, 'w1@host',
    'application/json', 'utf-8', '{}',
    now() - i * interval '604 milliseconds', now() - i * interval '604 milliseconds',
    now() - i * interval '604 milliseconds'
FROM generate_series(1, %s) AS i;
INSERT INTO tasks_app_taskattempt (task_id, task_name, number, worker, started_at,
    finished_at, wait_seconds, runtime_seconds, outcome, error)
SELECT 'chart-' || i,
    (ARRAY['tasks_app.send_email','tasks_app.ping','tasks_app.cleanup_sessions',
           'tasks_app.generate_user_report'])[1 + i %% 4],
    1, 'w1@host', now() - i * interval '604 milliseconds',
    now() - i * interval '604 milliseconds', 0.01, random() * 10, 'success', ''
FROM generate_series(1, %s) AS i;
ANALYZE django_celery_results_taskresult, tasks_app_taskattempt;
"""


def seed() -> None:
    if TaskResult.objects.filter(task_id="chart-1").exists():
        return
    print(f"seeding {ROWS:,} tasks and attempts ...", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(SEED, [ROWS, ROWS])


def median_ms(run: Callable[[], object], cold: bool, times: int = 7) -> tuple[float, int]:
    """Median wall time of `run` after one warm-up, and the queries of one run."""
    run()
    samples = []
    for _ in range(times):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            run()
            samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000, len(queries)


def timed_count() -> tuple[int, float]:
    started = time.perf_counter()
    counted = history_buckets_count()
    return counted, (time.perf_counter() - started) * 1000


def bare_sql(statements: list[str]) -> Callable[[], None]:
    """The statements of one view sent again through a cursor, their rows fetched."""

    def run() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()

    return run


def page_sql(client: Client, url: str, *, cold: bool) -> list[str]:
    with mock.patch("tasks_app.admin.history.workers_online", return_value=[]):
        client.get(url)
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
    return [query["sql"] for query in queries.captured_queries]


def without_counts(run: Callable[[], object]) -> Callable[[], object]:
    def uncounted() -> object:
        with transaction.atomic():
            HistoryBucket.objects.all().delete()
            try:
                return run()
            finally:
                transaction.set_rollback(True)

    return uncounted


def main() -> None:
    call_command("migrate", verbosity=0)
    seed()
    HistoryBucket.objects.all().delete()
    first_count = timed_count()
    admin, _ = User.objects.get_or_create(
        username="bench-admin",
        defaults={"email": "bench@example.com", "role": Role.SUPER_ADMIN, "is_staff": True,
                  "is_superuser": True},
    )  # fmt: skip
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    url = reverse("admin:tasks_app_taskoverview_changelist")

    def page() -> None:
        assert client.get(url).status_code == 200

    def page_without_ping() -> None:
        with mock.patch("tasks_app.admin.history.workers_online", return_value=[]):
            page()

    def admin_index() -> None:
        assert client.get(reverse("admin:index")).status_code == 200

    since = datetime.datetime.now(datetime.UTC) - WEEK
    in_week = TaskResult.objects.filter(date_done__gte=since).count()
    print(f"{TaskResult.objects.count():,} history rows, {in_week:,} in the last 7 days")
    counted, ms = first_count
    print(f"count-history-buckets, first run: {counted} quarters in {ms:.0f} ms")
    rows = [
        ("overview page (stats, 5 charts, queues, workers, schedules)", page, page),
        ("the same page, its workers ping left out", page_without_ping, page_without_ping),
        ("floor: the SQL of one view of the page, bare (no ORM, template or ping)",
         bare_sql(page_sql(client, url, cold=True)), bare_sql(page_sql(client, url, cold=False))),
        ("floor: Django's admin index", admin_index, admin_index),
        ("its five charts (tasks_app.charts.overview_charts)", overview_charts, overview_charts),
        ("its workers ping (waits the whole probe timeout)", workers_online, workers_online),
        ("its 24-hour table (task_stats, not cached)", task_stats, task_stats),
        ("tasks per minute + failure rate, 24 h (15-minute buckets)",) + (
            lambda: task_throughput(window=DAY, step=datetime.timedelta(minutes=15)),) * 2,
        ("tasks per minute + failure rate, 7 days (hourly buckets)",) + (
            lambda: task_throughput(window=WEEK, step=datetime.timedelta(hours=1)),) * 2,
        ("run-time p50/p95 by task, 24 h", task_run_times, task_run_times),
        ("its five charts, no quarter counted (beat stopped a week)",
         without_counts(overview_charts), without_counts(overview_charts)),
    ]  # fmt: skip
    print("| what | cold ms | queries | warm ms | queries |")
    print("|---|---|---|---|---|")
    for label, cold_run, warm_run in rows:
        cold_ms, cold_queries = median_ms(cold_run, cold=True)
        warm_ms, warm_queries = median_ms(warm_run, cold=False)
        print(
            f"| {label} | {cold_ms:.1f} | {cold_queries} | {warm_ms:.1f} | {warm_queries} |",
            flush=True,
        )
    counted, ms = timed_count()
    print(f"count-history-buckets, a later run: {counted} quarters in {ms:.0f} ms")


if __name__ == "__main__":
    main()
