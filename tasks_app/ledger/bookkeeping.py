"""Writes of the ledger's own rows, which may be committed asynchronously.

On Postgres an asynchronous commit returns before the WAL reaches the disk: a crash of the
database server (not of a worker or web process) can lose the last few hundred milliseconds of
these writes (wal_writer_delay, 200 ms by default, up to three times that). A lost mark is
recovered (an unpublished record is published again, a lost attempt shows as lost); the
application's own rows (users, emails, reports) are never written this way.
https://www.postgresql.org/docs/15/wal-async-commit.html
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

# A condition evaluated once per statement (an InitPlan), always true: the statement's own
# transaction commits asynchronously, so a single statement in autocommit mode is one round trip.
ASYNC_COMMIT_SQL = "(SELECT set_config('synchronous_commit', 'off', true)) = 'off'"


@contextmanager
def bookkeeping_transaction() -> Iterator[None]:
    """A transaction of ledger writes only. On Postgres its commit is asynchronous, unless it is
    nested in the caller's transaction, whose COMMIT must stay as durable as the caller chose."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
