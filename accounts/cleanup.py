"""Deleting expired sessions: the API's `AuthSession` rows and Django's own admin sessions.

The rows go in short batches (project/batched_delete.py: page ranges behind advisory try-locks on
Postgres, primary-key batches elsewhere), so a logout, which deletes its own session, never waits
behind the whole cleanup, and two runs at once never wait on each other. An expired session is
never updated (authentication rejects it before touching `last_used_at`), so it never moves into
a range the pass has already left; whatever a crash leaves behind, the next run deletes.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import AuthSession
from project.batched_delete import DEFAULT_BATCH_SIZE, delete_in_batches

logger = logging.getLogger(__name__)

# First key of the advisory locks on page ranges (the second is the range's first page).
ADVISORY_LOCK_CLASS = 0x5E55


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
    deleted = delete_in_batches(
        AuthSession,
        Q(expires_at__lt=now or timezone.now()),
        lock_class=ADVISORY_LOCK_CLASS,
        batch_size=batch_size,
        on_batch=on_batch,
    )
    _django_sessions_clear_expired()
    logger.info("deleted %d expired auth sessions", deleted)
    return deleted


def _django_sessions_clear_expired() -> None:
    """Django's own sessions (the admin's logins), as `manage.py clearsessions` does."""
    engine = import_module(settings.SESSION_ENGINE)
    with contextlib.suppress(NotImplementedError):  # the cache backend expires by itself
        engine.SessionStore.clear_expired()
