"""The task history's list pages at 1,000,000 tasks: `GET /api/tasks/` and the history admin.

    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_tasklist .venv/bin/python bench/task_list.py

Seeds 1,000,000 tasks (their TaskResult, TaskRecord and one attempt each, by SQL: 1 % failed,
a tenth queued through the API, a mix of names and queues) once, then times each page through
Django's test client in this process (median of 7, after one warm-up) and counts its queries.
Baseline: the bare SQL the first API page needs (`SELECT ... ORDER BY date_created DESC LIMIT 50`).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.support import setup_django  # noqa: E402

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_celery_results.models import TaskResult  # noqa: E402

from accounts.models import Role, User  # noqa: E402

ROWS = 1_000_000
SEED = """
INSERT INTO django_celery_results_taskresult
    (task_id, task_name, task_args, task_kwargs, status, worker, content_type, content_encoding,
     result, date_created, date_started, date_done, periodic_task_name)
SELECT 'bench-' || i,
    (ARRAY['tasks_app.send_email','tasks_app.ping','tasks_app.cleanup_sessions',
           'tasks_app.generate_user_report'])[1 + i %% 4],
    '[]', '{}', CASE WHEN i %% 100 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END, 'w1@host',
    'application/json', 'utf-8', '{}',
    now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval,
    now() - (i || ' seconds')::interval,
    CASE WHEN i %% 4 = 2 THEN 'cleanup-expired-sessions' END
FROM generate_series(1, %s) AS i;
INSERT INTO tasks_app_taskrecord (task_id, queue, eta, options, trigger, trigger_label,
    created_at, published_at, publish_failures, last_publish_error)
SELECT 'bench-' || i, (ARRAY['emails','default','default','reports'])[1 + i %% 4], NULL, '{}',
    CASE WHEN i %% 10 = 0 THEN 'api' WHEN i %% 4 = 2 THEN 'schedule' ELSE 'service' END, '',
    now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval, 0, ''
FROM generate_series(1, %s) AS i;
INSERT INTO tasks_app_taskattempt (task_id, task_name, number, worker, started_at,
    finished_at, wait_seconds, runtime_seconds, outcome, error)
SELECT 'bench-' || i,
    (ARRAY['tasks_app.send_email','tasks_app.ping','tasks_app.cleanup_sessions',
           'tasks_app.generate_user_report'])[1 + i %% 4],
    1, 'w1@host', now() - (i || ' seconds')::interval,
    now() - (i || ' seconds')::interval, 0.01, 0.002, 'success', ''
FROM generate_series(1, %s) AS i;
ANALYZE django_celery_results_taskresult, tasks_app_taskrecord, tasks_app_taskattempt;
"""


def seed() -> None:
    if TaskResult.objects.filter(task_id="bench-1").exists():
        return
    print(f"seeding {ROWS:,} tasks ...", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(SEED, [ROWS, ROWS, ROWS])


def timed(client: Client, url: str, params: dict | None = None) -> tuple[float, int, int]:
    client.get(url, params)  # warm-up
    times = []
    for _ in range(7):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            times.append(time.perf_counter() - started)
    assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times) * 1000, len(queries), response.status_code


def bare_sql_ms() -> float:
    times = []
    for _ in range(8):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM django_celery_results_taskresult r"
                " LEFT JOIN tasks_app_taskrecord t ON t.task_id = r.task_id"
                " ORDER BY r.date_created DESC, r.id DESC LIMIT 50"
            )
            cursor.fetchall()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:]) * 1000


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
    api = Client(HTTP_HOST="localhost")
    api.force_login(admin)  # the API accepts the admin's session too (staff)
    floor = bare_sql_ms()
    first = api.get("/api/tasks/").json()
    pages = [
        ("GET /api/tasks/ (first page of 50)", api, "/api/tasks/", None),
        ("GET /api/tasks/ next page (cursor)", api, first["next"], None),
        ("GET /api/tasks/?status=FAILURE", api, "/api/tasks/", {"status": "FAILURE"}),
        ("GET /api/tasks/?trigger=api", api, "/api/tasks/", {"trigger": "api"}),
        ("GET /api/tasks/?task_name=tasks_app.ping", api, "/api/tasks/",
         {"task_name": "tasks_app.ping"}),
        ("GET /api/tasks/?queue=reports&created_after=1 day ago", api, "/api/tasks/",
         {"queue": "reports", "created_after": "2026-01-01"}),
        ("admin history, unfiltered", client, "/admin/django_celery_results/taskresult/", None),
        ("admin history, status FAILURE", client, "/admin/django_celery_results/taskresult/",
         {"status": "FAILURE"}),
        ("admin history, trigger api", client, "/admin/django_celery_results/taskresult/",
         {"record__trigger__exact": "api"}),
    ]  # fmt: skip
    print(f"{TaskResult.objects.count():,} tasks; bare SQL first page: {floor:.1f} ms")
    print("| page | median ms | queries | x bare SQL |")
    print("|---|---|---|---|")
    for label, who, url, params in pages:
        ms, queries, _ = timed(who, url, params)
        print(f"| {label} | {ms:.1f} | {queries} | {ms / floor:.1f} |", flush=True)


if __name__ == "__main__":
    main()
