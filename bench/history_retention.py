"""Benchmark: the batched task history retention against one big DELETE of the same rows.

    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_retention .venv/bin/python \
        bench/history_retention.py

Seeds ROWS `TaskResult` rows (half past their retention, interleaved over the whole table; one
in ten a failure) with one `INSERT ... SELECT generate_series`, copies the table twice (same
indexes), `VACUUM ANALYZE`s all three, then in the same run, each after a `CHECKPOINT`, deletes
the rows past their retention (the same WHERE clause each time):
  * one `DELETE ... WHERE <policy>` on the first copy (what `.filter(...).delete()` issues);
  * `DELETE ... WHERE id IN (SELECT id ... ORDER BY date_done LIMIT n)` until none is left, on
    the second copy (the simpler batch);
  * `task_history_expire()` (what `tasks_app.expire_task_history` runs) on the real table.
It prints each one's seconds, batches and longest batch, and the service's ratio to one DELETE.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.support import setup_django

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django_celery_results.models import TaskResult  # noqa: E402

from project.batched_delete import DEFAULT_BATCH_SIZE  # noqa: E402
from tasks_app.selectors.task_results import task_results_expired_q  # noqa: E402
from tasks_app.services.history_retention import task_history_expire  # noqa: E402

TABLE = TaskResult._meta.db_table
COPIES = ("bench_taskresult_single", "bench_taskresult_limit")

# Even rows are past their retention (older than 31 days), odd rows are within the last 6 days.
SEED = f"""
INSERT INTO {TABLE} (task_id, task_name, status, content_type, content_encoding, result,
                     date_created, date_started, date_done, meta, task_args, task_kwargs, worker)
SELECT 'bench-' || i,
       (ARRAY['tasks_app.ping', 'tasks_app.send_email', 'tasks_app.relay_outbox',
              'tasks_app.cleanup_sessions'])[i %% 4 + 1],
       CASE WHEN i %% 10 IN (0, 5) THEN 'FAILURE' ELSE 'SUCCESS' END,
       'application/json', 'utf-8', '{{"status": "pong", "worker": "celery@bench"}}',
       done - interval '1 second', done - interval '1 second', done,
       '{{"children": []}}', '"(' || i || ',)"', '"{{}}"', 'celery@bench'
FROM generate_series(1, %(rows)s) AS i,
     LATERAL (SELECT CASE WHEN i %% 2 = 0
                          THEN now() - interval '31 days' - (i %% 86400) * interval '1 second'
                          ELSE now() - (i %% 500000) * interval '1 second' END AS done) AS d
"""


def seed(rows: int) -> None:
    with connection.cursor() as cur:
        for copy in COPIES:
            cur.execute(f"DROP TABLE IF EXISTS {copy}")
        cur.execute(f"TRUNCATE {TABLE}")
        started = time.perf_counter()
        cur.execute(SEED, {"rows": rows})
        print(f"seeded {rows:,} history rows in {time.perf_counter() - started:.1f}s", flush=True)
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        indexes = cur.fetchall()
        for copy in COPIES:
            cur.execute(f"CREATE TABLE {copy} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING IDENTITY)")
            cur.execute(f"INSERT INTO {copy} SELECT * FROM {TABLE}")
            for name, definition in indexes:
                cur.execute(
                    definition.replace(f"INDEX {name} ON", f"INDEX {copy}_{name[-20:]} ON")
                    .replace(f"EXISTS {name} ON", f"EXISTS {copy}_{name[-20:]} ON")
                    .replace(f".{TABLE} ", f".{copy} ")
                )
        print(f"seeded and copied in {time.perf_counter() - started:.1f}s", flush=True)
    with connection.cursor() as cur:  # VACUUM cannot run in a transaction; Django autocommits here
        for table in (TABLE, *COPIES):
            cur.execute(f"VACUUM ANALYZE {table}")


def policy_where(table: str) -> tuple[str, list]:
    """The retention's WHERE clause (the selector's rule), pointed at `table`."""
    query = TaskResult.objects.filter(task_results_expired_q()).query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return sql.replace(connection.ops.quote_name(TABLE), table), list(params)


def timed(label: str, work) -> dict:
    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")  # each variant starts from the same WAL state
    reset_queries()
    started = time.perf_counter()
    deleted, batch_seconds = work()
    return {
        "variant": label,
        "seconds": time.perf_counter() - started,
        "deleted": deleted,
        "batches": len(batch_seconds),
        "longest_ms": max(batch_seconds, default=0) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("run it on Postgres: DATABASE_URL=postgres://root@127.0.0.1:5432/bench_retention")
    call_command("migrate", verbosity=0)
    seed(args.rows)

    def single_delete():
        where, params = policy_where(COPIES[0])
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {COPIES[0]} WHERE {where}", params)
            return cur.rowcount, [time.perf_counter() - started]

    def limit_batches():
        where, params = policy_where(COPIES[1])
        statement = (
            f"DELETE FROM {COPIES[1]} WHERE id IN (SELECT id FROM {COPIES[1]} WHERE {where}"
            f" ORDER BY date_done LIMIT {args.batch_size})"
        )
        deleted, seconds = 0, []
        with connection.cursor() as cur:
            while True:
                started = time.perf_counter()
                cur.execute(statement, params)
                seconds.append(time.perf_counter() - started)
                if not cur.rowcount:
                    return deleted, seconds
                deleted += cur.rowcount

    def service():
        # The time from one batch's end to the next: a batch plus the empty ranges before it.
        seconds, last = [], [time.perf_counter()]

        def on_batch(count: int) -> None:
            now = time.perf_counter()
            seconds.append(now - last[0])
            last[0] = now

        return task_history_expire(batch_size=args.batch_size, on_batch=on_batch), seconds

    rows = [
        timed("one DELETE ... WHERE <policy>", single_delete),
        timed(f"DELETE ... WHERE id IN (SELECT ... LIMIT {args.batch_size})", limit_batches),
        timed(f"task_history_expire(batch_size={args.batch_size})", service),
    ]
    with connection.cursor() as cur:
        for copy in COPIES:
            cur.execute(f"DROP TABLE {copy}")

    print()
    print("| variant | seconds | deleted | batches | longest batch ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['seconds']:.2f} | {r['deleted']:,} | {r['batches']}"
            f" | {r['longest_ms']:.1f} |"
        )
    print(f"\nLIMIT batches / single DELETE: {rows[1]['seconds'] / rows[0]['seconds']:.2f}x")
    print(f"service / single DELETE: {rows[2]['seconds'] / rows[0]['seconds']:.2f}x")
    print(f"longest batch of the service: {rows[2]['longest_ms']:.1f} ms")


if __name__ == "__main__":
    main()
