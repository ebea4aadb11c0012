"""The admin overview with its charts at 1,000,000 history rows.

    DATABASE_URL=postgres://root@127.0.0.1:5432/hchartsf_bench \
        .venv/bin/python bench/overview_charts.py

Seeds once, by SQL, 1,000,000 finished tasks spread evenly over the last 7 days (every one inside
the 7-day charts' window, about 143,000 in the last 24 hours: the worst case for the charts), 1 %
failed, over four task names, and one ledger attempt each with a run time between 0 and 10 s.
Then times the overview page (also without its workers ping, a fixed wait for replies that has
nothing to do with the history) through Django's test client in this process (median of 7, after
one warm-up) with its query count, and each chart query on its own: cold (Django's cache
emptied before each run, so the settled buckets are counted again: the first view, and one
in a window) and warm (the usual view: the settled buckets come from the cache).
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
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_celery_results.models import TaskResult  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from tasks_app.charts import overview_charts  # noqa: E402
from tasks_app.selectors.broker import workers_online  # noqa: E402
from tasks_app.selectors.charts import DAY, WEEK, task_run_times, task_throughput  # noqa: E402
from tasks_app.selectors.task_results import task_stats  # noqa: E402

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


def main() -> None:
    call_command("migrate", verbosity=0)
    seed()
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

    since = datetime.datetime.now(datetime.UTC) - WEEK
    in_week = TaskResult.objects.filter(date_done__gte=since).count()
    print(f"{TaskResult.objects.count():,} history rows, {in_week:,} in the last 7 days")
    rows = [
        ("overview page (stats, 5 charts, queues, workers, schedules)", page),
        ("the same page, its workers ping left out", page_without_ping),
        ("its five charts (tasks_app.charts.overview_charts)", overview_charts),
        ("its workers ping (waits the whole probe timeout)", workers_online),
        ("its 24-hour table (task_stats, not cached)", task_stats),
        ("tasks per minute + failure rate, 24 h (15-minute buckets)",
         lambda: task_throughput(window=DAY, step=datetime.timedelta(minutes=15))),
        ("tasks per minute + failure rate, 7 days (hourly buckets)",
         lambda: task_throughput(window=WEEK, step=datetime.timedelta(hours=1))),
        ("run-time p50/p95 by task, 24 h", task_run_times),
    ]  # fmt: skip
    print("| what | cold ms | queries | warm ms | queries |")
    print("|---|---|---|---|---|")
    for label, run in rows:
        cold_ms, cold_queries = median_ms(run, cold=True)
        warm_ms, warm_queries = median_ms(run, cold=False)
        print(
            f"| {label} | {cold_ms:.1f} | {cold_queries} | {warm_ms:.1f} | {warm_queries} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
