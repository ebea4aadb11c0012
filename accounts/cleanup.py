"""Deleting expired sessions: the API's `AuthSession` rows and Django's own admin sessions.

Why batches: one `DELETE ... WHERE expires_at < now()` over millions of rows is one long
transaction holding every deleted row's lock, so a logout (which deletes its own session) waits
behind it and a crash rolls it all back. Each batch here is its own short transaction.

Postgres (measured in docs/benchmarks.md): one pass over the table in ranges of pages
(`ctid >= '(a,0)' AND ctid < '(b,0)'`, a TID range scan: every page is read once, unlike a
`LIMIT` batch that rescans the dead rows of the batches before it). A run takes a transaction-level
advisory lock on each range first and skips a range another run holds, so two runs at once never
wait on each other and each row is counted by the run that deleted it. Each batch is one
statement in autocommit mode: one round trip, one transaction. Commits are asynchronous
(`synchronous_commit = off`): a crash may forget the last few batches, which the next run deletes
again. No sweep follows the pass: a row moves (a new version elsewhere) only when it is updated,
and an expired session never is (authentication rejects it before touching `last_used_at`); a
sweep over the `expires_at` index would instead wade through the index entries of every row just
deleted, measured at a third of the pass's own time. Whatever a crash or a race leaves behind,
the next run deletes.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuthSession

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
# First key of the advisory locks on page ranges (the second is the range's first page).
ADVISORY_LOCK_CLASS = 0x5E55
_ROWS_PER_PAGE_UNKNOWN = 50  # before the table was ever analysed

# One statement, so in autocommit one round trip and one short transaction per batch. The
# advisory lock is taken once (an InitPlan) and released when the statement's transaction ends.
_PG_DELETE_RANGE = """
WITH range_lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(%s, %s) AS acquired)
DELETE FROM {table}
WHERE (SELECT acquired FROM range_lock)
  AND ctid >= %s::tid AND ctid < %s::tid AND expires_at < %s
"""


def sessions_clear_expired(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime.datetime | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete every `AuthSession` that expired before `now`, then Django's expired sessions.

    Returns how many auth sessions this call deleted (rows deleted by a concurrent run are not
    counted here). `on_batch` is told each batch's count (a progress bar uses it).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        deleted = _clear_postgres(now=now, batch_size=batch_size, on_batch=on_batch)
    else:
        deleted = _clear_portable(now=now, batch_size=batch_size, on_batch=on_batch)
    _django_sessions_clear_expired()
    logger.info("deleted %d expired auth sessions", deleted)
    return deleted


def _clear_postgres(
    *, now: datetime.datetime, batch_size: int, on_batch: Callable[[int], None] | None
) -> int:
    table = connection.ops.quote_name(AuthSession._meta.db_table)
    pages, rows_per_page = _table_pages(AuthSession._meta.db_table)
    step = max(1, batch_size // rows_per_page)
    deleted = 0
    with _asynchronous_commit(), connection.cursor() as cursor:
        for first in range(0, pages, step):
            cursor.execute(
                _PG_DELETE_RANGE.format(table=table),
                [ADVISORY_LOCK_CLASS, first, f"({first},0)", f"({first + step},0)", now],
            )
            deleted += _counted(cursor.rowcount, on_batch)
    return deleted


def _counted(count: int, on_batch: Callable[[int], None] | None) -> int:
    if count and on_batch:
        on_batch(count)
    return count


@contextlib.contextmanager
def _asynchronous_commit():
    """`synchronous_commit = off` for this connection while the cleanup runs, then as before."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('synchronous_commit', 'off', false)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', %s, false)", [previous])


def _table_pages(table: str) -> tuple[int, int]:
    """The table's size in pages now, and its rows per page from the planner's statistics."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int,"
            " reltuples, relpages FROM pg_class WHERE oid = %s::regclass",
            [table, table],
        )
        pages, tuples, stat_pages = cursor.fetchone()
    if tuples > 0 and stat_pages > 0:
        return pages, max(1, round(tuples / stat_pages))
    return pages, _ROWS_PER_PAGE_UNKNOWN


def _clear_portable(
    *, now: datetime.datetime, batch_size: int, on_batch: Callable[[int], None] | None
) -> int:
    """SQLite (and any other database): primary-key batches. SQLite serialises writers, so two
    runs queue one behind the other rather than overlap, and each DELETE counts only its rows."""
    deleted = 0
    while True:
        with transaction.atomic():
            batch = AuthSession.objects.filter(expires_at__lt=now).values("pk")[:batch_size]
            # No signals and nothing refers to AuthSession: Django issues one plain DELETE.
            count, _ = AuthSession.objects.filter(pk__in=batch, expires_at__lt=now).delete()
        if not count:
            return deleted
        deleted += count
        if on_batch:
            on_batch(count)


def _django_sessions_clear_expired() -> None:
    """Django's own sessions (the admin's logins), as `manage.py clearsessions` does."""
    engine = import_module(settings.SESSION_ENGINE)
    with contextlib.suppress(NotImplementedError):  # the cache backend expires by itself
        engine.SessionStore.clear_expired()
