"""Fault: Postgres restarted (a fast shutdown, as `pg_ctl restart` does) under a running worker
and beat, with tasks coming due in the worker during the outage.

A private cluster (tests/support/postgres_server.py) with the project's migrations and a private
Redis as the broker; the test reads the private database with its own connections. Beat runs the
session cleanup every 2 s. Tasks published before the outage with a 2 s countdown come due while
the database is down.

What must hold: the tasks that hit the outage are retried once it is back (or end failed with
the database's error, never stay pending); the same worker serves afterwards (its persistent
connections, cut by the restart, are replaced before the next task); beat resumes sending.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.beat import CeleryBeat
from tests.support.broker import publisher_app
from tests.support.polling import wait_for
from tests.support.postgres_server import PostgresServer, postgres_installed
from tests.support.redis_server import RedisServer
from tests.support.services import unavailable
from tests.support.worker import BrokerWorker

SCHEDULE = "cleanup-expired-sessions"
OUTAGE = 6  # seconds the database is down
HIT = 4  # tasks that come due during the outage


@pytest.fixture
def servers() -> Iterator[tuple[PostgresServer, RedisServer]]:
    if not postgres_installed():
        unavailable("Postgres' initdb is not installed: this test starts and stops its own")
    if not shutil.which("redis-server"):
        unavailable("redis-server is not installed: this test starts and stops its own")
    postgres = PostgresServer().start()
    redis = RedisServer().start()
    try:
        yield postgres, redis
    finally:
        redis.cleanup()
        postgres.cleanup()


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True, connect_timeout=2) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def runs_after(url: str, moment: float) -> int:
    """Successful runs of the schedule done after `moment` (a time.time())."""
    sql = (
        "SELECT count(*) FROM django_celery_results_taskresult WHERE periodic_task_name = %s "
        "AND status = 'SUCCESS' AND date_done > to_timestamp(%s)"
    )
    return query(url, sql, (SCHEDULE, moment))[0][0]


def statuses(url: str, task_ids: list[str]) -> dict[str, str]:
    sql = "SELECT task_id, status FROM django_celery_results_taskresult WHERE task_id = ANY(%s)"
    return dict(query(url, sql, (task_ids,)))


def test_worker_and_beat_go_on_after_postgres_restarts(servers):
    postgres, redis = servers
    url = postgres.create_database()
    db = url.replace("postgres://", "postgresql://")
    [(interval,)] = query(
        db,
        "INSERT INTO django_celery_beat_intervalschedule (every, period) "
        "VALUES (2, 'seconds') RETURNING id",
    )
    query(
        db,
        "UPDATE django_celery_beat_periodictask SET interval_id = %s, crontab_id = NULL "
        "WHERE name = %s",
        (interval, SCHEDULE),
    )
    env = {"DATABASE_URL": url, "CELERY_BROKER_URL": redis.url, "BEAT_LEASE_SECONDS": "10"}
    app = publisher_app(redis.url)
    worker = BrokerWorker(app, concurrency=2, **env, CELERY_TASK_DEFAULT_RETRY_DELAY="2")
    beat = CeleryBeat(**env)
    try:
        worker.start()
        beat.start()
        started = time.time()
        wait_for(lambda: runs_after(db, started) >= 2, timeout=40, what="two scheduled runs")

        hit = [str(uuid.uuid4()) for _ in range(HIT)]
        for task_id in hit:
            app.send_task("tasks_app.cleanup_sessions", task_id=task_id, countdown=2)
        postgres.stop()
        time.sleep(OUTAGE)  # the tasks come due and run against a database that is gone
        postgres.start()
        back = time.time()

        wait_for(lambda: runs_after(db, back) >= 2, timeout=40, what="beat sending again")
        resumed = query(
            db,
            "SELECT min(date_done) - to_timestamp(%s) FROM django_celery_results_taskresult "
            "WHERE periodic_task_name = %s AND date_done > to_timestamp(%s)",
            (back, SCHEDULE, back),
        )[0][0].total_seconds()
        wait_for(
            lambda: (
                set(statuses(db, hit).values()) <= {"SUCCESS", "FAILURE"}
                and len(statuses(db, hit)) == HIT
            ),
            timeout=40,
            what=f"the {HIT} tasks that hit the outage to end",
        )
        ended = statuses(db, hit)
        workers = query(
            db,
            "SELECT DISTINCT worker FROM django_celery_results_taskresult "
            "WHERE date_done > to_timestamp(%s)",
            (back,),
        )
        print(
            f"first scheduled run {resumed:.1f}s after Postgres was back; tasks that hit the "
            f"outage: {sorted(ended.values())}"
        )
        worker.assert_running()  # never restarted
        assert [w for (w,) in workers if w] == [worker.hostname]
        assert set(ended.values()) == {"SUCCESS"}, worker.log()
    finally:
        beat.stop()
        worker.stop()
