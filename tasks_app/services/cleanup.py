"""Deleting expired sessions: the API's `AuthSession` rows and Django's own admin sessions.

Why batches: one `DELETE ... WHERE expires_at < now()` over millions of rows holds its row locks
and its transaction for the whole run, so a logout (which deletes its own session) or anything
that locks a session row waits behind it, and a crash rolls everything back. Each batch here is
its own short transaction. On Postgres a batch is picked by `ctid` (measured about 2x faster than
by primary key, see /work/shared/FACTS.md) with `FOR UPDATE SKIP LOCKED`, so two runs at once
share the work instead of blocking each other, and each deleted row is counted by exactly one run.
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

_PG_DELETE_BATCH = """
DELETE FROM {table}
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM {table}
    WHERE expires_at < %s
    LIMIT %s
    FOR UPDATE SKIP LOCKED
))
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
    delete_batch = _delete_batch_postgres if connection.vendor == "postgresql" else _delete_batch
    deleted = 0
    while True:
        with transaction.atomic():
            count = delete_batch(now=now, batch_size=batch_size)
        if count == 0:
            break
        deleted += count
        if on_batch:
            on_batch(count)
    _django_sessions_clear_expired()
    logger.info("deleted %d expired auth sessions", deleted)
    return deleted


def _delete_batch_postgres(*, now: datetime.datetime, batch_size: int) -> int:
    sql = _PG_DELETE_BATCH.format(table=connection.ops.quote_name(AuthSession._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, batch_size])
        return cursor.rowcount


def _delete_batch(*, now: datetime.datetime, batch_size: int) -> int:
    """Portable path (SQLite): a primary-key batch. SQLite serialises writers, so two runs
    queue one behind the other rather than overlap, and each DELETE counts only its own rows."""
    batch = AuthSession.objects.filter(expires_at__lt=now).values("pk")[:batch_size]
    # AuthSession has no signals and nothing refers to it, so Django issues one plain DELETE.
    deleted, _ = AuthSession.objects.filter(pk__in=batch, expires_at__lt=now).delete()
    return deleted


def _django_sessions_clear_expired() -> None:
    """Django's own sessions (the admin's logins), as `manage.py clearsessions` does."""
    engine = import_module(settings.SESSION_ENGINE)
    with contextlib.suppress(NotImplementedError):  # the cache backend expires by itself
        engine.SessionStore.clear_expired()
