"""Benchmark: the batched session cleanup against one big DELETE, and what a login waits meanwhile.

    DATABASE_URL=postgres://root@127.0.0.1:5432/wt_periodic_bench .venv/bin/python bench/cleanup.py

Seeds ROWS auth sessions (half expired, interleaved over the whole table) for a real user with
one `INSERT ... SELECT generate_series`, copies the table (same indexes), then in the same run:
  * `DELETE FROM copy WHERE expires_at < now()`, the seed's statement;
  * `sessions_clear_expired()` (the task's service) on the real table;
while a thread "logs in" every ~10 ms on the table being cleaned: INSERT a session, then SELECT
it by token hash, in autocommit like the web process. It reports the longest login.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.support import setup_django

setup_django()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.cleanup import sessions_clear_expired  # noqa: E402
from accounts.models import AuthSession, User  # noqa: E402
from project.batched_delete import DEFAULT_BATCH_SIZE  # noqa: E402

TABLE = AuthSession._meta.db_table
COPY = "bench_authsession_copy"

SEED = f"""
INSERT INTO {TABLE} (user_id, token_hash, created_at, expires_at, user_agent)
SELECT %(user)s, md5(i::text) || md5((-i)::text), now() - interval '1 day',
       CASE WHEN i %% 2 = 0
            THEN now() - interval '1 minute' - (i %% 86400) * interval '1 second'
            ELSE now() + interval '1 hour' + (i %% 86400) * interval '1 second' END,
       'bench/1.0'
FROM generate_series(1, %(rows)s) AS i
"""


class Logins(threading.Thread):
    """A login every ~10 ms on `table`; records how long each took (ms)."""

    def __init__(self, dsn: str, table: str, user_id: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.table, self.user_id = dsn, table, user_id
        self.waits: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                token = uuid.uuid4().hex + uuid.uuid4().hex
                started = time.perf_counter()
                conn.execute(
                    f"INSERT INTO {self.table}"
                    " (user_id, token_hash, created_at, expires_at, user_agent)"
                    " VALUES (%s, %s, now(), now() + interval '1 day', 'login')",
                    (self.user_id, token),
                )
                conn.execute(
                    f"SELECT id, user_id, expires_at FROM {self.table} WHERE token_hash = %s",
                    (token,),
                ).fetchone()
                self.waits.append((time.perf_counter() - started) * 1000)
                time.sleep(0.01)


def dsn() -> str:
    s = connection.settings_dict
    return (
        f"host={s['HOST'] or 'localhost'} port={s['PORT'] or 5432}"
        f" dbname={s['NAME']} user={s['USER']}"
        + (f" password={s['PASSWORD']}" if s["PASSWORD"] else "")
    )


def seed(rows: int) -> User:
    user = User.objects.filter(username="bench").first() or User.objects.create_user(
        "bench", "bench@example.com", None
    )
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {COPY}")
        cur.execute(f"TRUNCATE {TABLE}")
        started = time.perf_counter()
        cur.execute(SEED, {"user": user.pk, "rows": rows})
        print(f"seeded {rows:,} sessions in {time.perf_counter() - started:.1f}s", flush=True)
        # The copy: same rows, same indexes (built after the load, which is much faster).
        cur.execute(f"CREATE TABLE {COPY} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING IDENTITY)")
        cur.execute(f"INSERT INTO {COPY} SELECT * FROM {TABLE}")
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        for name, definition in cur.fetchall():
            cur.execute(
                definition.replace(f"INDEX {name} ON", f"INDEX {COPY}_{name[-20:]} ON").replace(
                    f".{TABLE} ", f".{COPY} "
                )
            )
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{COPY}', 'id'), (SELECT max(id) FROM {COPY}))"
        )
        print(f"seeded and copied in {time.perf_counter() - started:.1f}s", flush=True)
    with connection.cursor() as cur:  # VACUUM cannot run in a transaction; Django autocommits here
        cur.execute(f"VACUUM ANALYZE {TABLE}")
        cur.execute(f"VACUUM ANALYZE {COPY}")
    return user


def timed(label: str, table: str, user: User, work) -> dict:
    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")  # each variant starts from the same WAL state
    logins = Logins(dsn(), table, str(user.pk))
    logins.start()
    time.sleep(0.3)  # a few logins before, as a baseline
    started = time.perf_counter()
    deleted, batches = work()
    seconds = time.perf_counter() - started
    logins.stop.set()
    logins.join()
    waits = sorted(logins.waits)
    return {
        "variant": label,
        "seconds": seconds,
        "deleted": deleted,
        "batches": batches,
        "logins": len(waits),
        "login_p50": statistics.median(waits),
        "login_p99": waits[int(len(waits) * 0.99) - 1] if len(waits) >= 100 else waits[-1],
        "login_max": waits[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit(
            "run it on Postgres: DATABASE_URL=postgres://root@127.0.0.1:5432/wt_periodic_bench"
        )
    call_command("migrate", verbosity=0)
    user = seed(args.rows)

    def single_delete():
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {COPY} WHERE expires_at < now()")
            return cur.rowcount, 1

    def service():
        batches: list[int] = []
        return sessions_clear_expired(batch_size=args.batch_size, on_batch=batches.append), len(
            batches
        )

    rows = [
        timed("one DELETE ... WHERE expires_at < now() (seed)", COPY, user, single_delete),
        timed(f"sessions_clear_expired(batch_size={args.batch_size})", TABLE, user, service),
    ]
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {COPY}")

    print()
    print(
        "| variant | seconds | deleted | batches | logins"
        " | login p50 ms | login p99 ms | longest login ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['seconds']:.2f} | {r['deleted']:,} | {r['batches']}"
            f" | {r['logins']} "
            f"| {r['login_p50']:.1f} | {r['login_p99']:.1f} | {r['login_max']:.1f} |"
        )
    ratio = rows[1]["seconds"] / rows[0]["seconds"]
    print(f"\nservice / single DELETE: {ratio:.2f}x (goal <= 1.5x)")
    print(f"longest login during the service: {rows[1]['login_max']:.1f} ms (goal < 100 ms)")


if __name__ == "__main__":
    main()
