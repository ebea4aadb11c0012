"""Periodic housekeeping tasks (scheduled in the database by django-celery-beat) over the
accounts' own cleanup service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from accounts.cleanup import sessions_clear_expired


@shared_task(name="tasks_app.cleanup_sessions", time_limit=900, soft_time_limit=840)
def cleanup_sessions() -> dict[str, object]:
    """Delete expired sessions; the seed's result shape.

    On redelivery or an overlapping run it deletes only what is still expired and counts only the
    rows it deleted itself, so running twice is harmless.
    """
    deleted = sessions_clear_expired()
    return {
        "status": "completed",
        "deleted_sessions": deleted,
        "run_at": timezone.now().isoformat(),
    }
