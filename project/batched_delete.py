"""Deleting many rows in short transactions: the one technique behind the session cleanup and
the task history retention (measured in docs/benchmarks.md).

Why batches: one `DELETE ... WHERE <old>` over millions of rows is one long transaction holding
every deleted row's lock, so a request that touches one of them waits behind it, and a crash rolls
it all back. Each batch here is its own short transaction.

Postgres: one pass over the table in ranges of pages (`ctid >= '(a,0)' AND ctid < '(b,0)'`, a TID
range scan: every page is read once, unlike a `LIMIT` batch that rescans the dead rows of the
batches before it). A run takes a transaction-level advisory lock on each range first and skips a
range another run holds, so two runs at once never wait on each other and each row is counted by
the run that deleted it. Each batch is one statement in autocommit mode: one round trip, one
transaction. Commits are asynchronous (`synchronous_commit = off`): a crash may forget the last
few batches, which the next run deletes again. No sweep follows the pass: what a race leaves
behind (a row that moved into a range already passed), the next run deletes.

Elsewhere (SQLite): primary-key batches, each its own transaction; SQLite serialises writers, so
two runs queue one behind the other rather than overlap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from django.db import connection, models, transaction
from django.db.models import Q

DEFAULT_BATCH_SIZE = 5000
_ROWS_PER_PAGE_UNKNOWN = 50  # before the table was ever analysed

# One statement, so in autocommit one round trip and one short transaction per batch. The
# advisory lock is taken once (an InitPlan) and released when the statement's transaction ends.
_PG_DELETE_RANGE = """
WITH range_lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(%s, %s) AS acquired)
DELETE FROM {table}
WHERE (SELECT acquired FROM range_lock)
  AND ctid >= %s::tid AND ctid < %s::tid AND ({condition})
"""


def delete_in_batches(
    model: type[models.Model],
    condition: Q,
    *,
    lock_class: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete `model`'s rows matching `condition`; return how many this call deleted.

    The model must have no signal receivers or relations to cascade (Django would load every row):
    one plain DELETE per batch. `lock_class` is the first key of the advisory locks on page ranges,
    one per kind of cleanup. `on_batch` is told each batch's count (a progress bar uses it).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if connection.vendor == "postgresql":
        return _delete_postgres(model, condition, lock_class, batch_size, on_batch)
    return _delete_portable(model, condition, batch_size, on_batch)


def _delete_postgres(
    model: type[models.Model],
    condition: Q,
    lock_class: int,
    batch_size: int,
    on_batch: Callable[[int], None] | None,
) -> int:
    table = model._meta.db_table
    query = model.objects.filter(condition).query
    # The WHERE clause Django builds for the condition, its columns qualified by the table's name.
    where, params = query.get_compiler(connection=connection).compile(query.where)
    statement = _PG_DELETE_RANGE.format(table=connection.ops.quote_name(table), condition=where)
    pages, rows_per_page = _table_pages(table)
    step = max(1, batch_size // rows_per_page)
    deleted = 0
    with _asynchronous_commit(), connection.cursor() as cursor:
        for first in range(0, pages, step):
            cursor.execute(
                statement, [lock_class, first, f"({first},0)", f"({first + step},0)", *params]
            )
            deleted += _counted(cursor.rowcount, on_batch)
    return deleted


def _delete_portable(
    model: type[models.Model],
    condition: Q,
    batch_size: int,
    on_batch: Callable[[int], None] | None,
) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            batch = model.objects.filter(condition).values("pk")[:batch_size]
            count, _ = model.objects.filter(condition, pk__in=batch).delete()
        if not count:
            return deleted
        deleted += _counted(count, on_batch)


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
