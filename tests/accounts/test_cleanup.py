"""The expired-session cleanup: what it deletes, in batches, concurrently, its command and the
task that beat runs."""

from __future__ import annotations

import datetime
import secrets
import threading
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_results.models import TaskResult

from accounts.cleanup import ADVISORY_LOCK_CLASS, sessions_clear_expired
from accounts.models import AuthSession, User
from tasks_app.tasks import cleanup_sessions
from tests.factories import UserFactory
from tests.support.polling import wait_for


def make_sessions(user: User, *, expired: int, live: int) -> None:
    """`expired` sessions that ended 1-50 minutes ago and `live` ones valid for another hour."""
    now = timezone.now()
    rows = [
        AuthSession(
            user=user,
            token_hash=secrets.token_hex(32),
            expires_at=now - datetime.timedelta(minutes=1 + i % 50)
            if i < expired
            else now + datetime.timedelta(hours=1),
        )
        for i in range(expired + live)
    ]
    AuthSession.objects.bulk_create(rows, batch_size=2000)


def _expired_django_session() -> str:
    store = SessionStore()
    store["k"] = "v"
    store.set_expiry(-60)
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(minutes=1)
    )
    return store.session_key


@pytest.mark.django_db
def test_cleanup_deletes_only_expired_sessions_in_batches():
    user = UserFactory()
    make_sessions(user, expired=10, live=4)
    expired_key = _expired_django_session()
    batches: list[int] = []

    deleted = sessions_clear_expired(batch_size=3, on_batch=batches.append)

    assert deleted == 10
    assert sum(batches) == 10
    if connection.vendor == "sqlite":  # Postgres batches are page ranges: about batch_size rows
        assert batches == [3, 3, 3, 1]
    assert AuthSession.objects.count() == 4
    assert not AuthSession.objects.filter(expires_at__lt=timezone.now()).exists()
    assert not Session.objects.filter(session_key=expired_key).exists()


@pytest.mark.django_db
def test_batches_are_delete_statements_that_never_load_rows():
    user = UserFactory()
    make_sessions(user, expired=400, live=400)

    with CaptureQueriesContext(connection) as queries:
        assert sessions_clear_expired(batch_size=40) == 400

    statements = [q["sql"].lstrip().upper() for q in queries]
    deletes = [sql for sql in statements if "DELETE FROM" in sql and "ACCOUNTS_AUTHSESSION" in sql]
    assert len(deletes) > 2  # several batches, each its own statement
    assert not [
        sql
        for sql in statements
        if sql.startswith("SELECT") and 'FROM "ACCOUNTS_AUTHSESSION"' in sql
    ]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_do_not_double_count():
    user = UserFactory()
    make_sessions(user, expired=3000, live=100)
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(sessions_clear_expired(batch_size=100))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == 2
    assert sum(results) == 3000
    assert AuthSession.objects.count() == 100


@pytest.mark.django_db
def test_dry_run_counts_and_deletes_nothing(capsys):
    user = UserFactory()
    make_sessions(user, expired=7, live=2)

    call_command("cleanup_sessions", "--dry-run")

    assert "would delete 7 expired auth sessions" in capsys.readouterr().out
    assert AuthSession.objects.count() == 9


@pytest.mark.django_db
def test_command_deletes_and_reports(capsys):
    user = UserFactory()
    make_sessions(user, expired=7, live=2)

    call_command("cleanup_sessions", "--batch-size=2", verbosity=0)

    assert "deleted 7 expired auth sessions" in capsys.readouterr().out
    assert AuthSession.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_cleanup_task_runs_on_a_worker_and_returns_the_seed_shape(celery_worker):
    user = UserFactory()
    make_sessions(user, expired=5, live=1)

    async_result = cleanup_sessions.delay()

    row = wait_for(
        lambda: TaskResult.objects.filter(task_id=async_result.id, status="SUCCESS").first(),
        what="the cleanup result",
    )
    result = async_result.get(timeout=10)
    assert row.task_name == "tasks_app.cleanup_sessions"
    assert result["status"] == "completed"
    assert result["deleted_sessions"] == 5
    assert datetime.datetime.fromisoformat(result["run_at"]) <= timezone.now()
    assert AuthSession.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_range_another_run_is_deleting_is_skipped_not_waited_for():
    """Another run mid-batch holds the advisory lock of a page range and the row locks in it:
    this run neither waits for it nor counts those rows; they are left to the other run."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "page ranges and advisory locks are the Postgres path; SQLite serialises writers"
        )
    user = UserFactory()
    make_sessions(user, expired=300, live=0)
    locked, release = threading.Event(), threading.Event()
    held: list[int] = []

    def other_run_mid_batch() -> None:
        from django.db import transaction

        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [ADVISORY_LOCK_CLASS])
                cursor.execute(
                    "SELECT id FROM accounts_authsession WHERE ctid < '(1,0)'::tid FOR UPDATE"
                )
                held.extend(row[0] for row in cursor.fetchall())
                locked.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    holder = threading.Thread(target=other_run_mid_batch)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        deleted = sessions_clear_expired(batch_size=7)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join(timeout=30)

    assert 0 < len(held) < 300
    assert deleted == 300 - len(held)
    assert elapsed < 5, f"the cleanup waited {elapsed:.1f}s on the other run"
    assert sorted(AuthSession.objects.values_list("pk", flat=True)) == sorted(held)
    assert sessions_clear_expired(batch_size=7) == len(held)
