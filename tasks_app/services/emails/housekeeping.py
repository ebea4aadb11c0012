"""Email housekeeping: send again what the broker lost. The row, not the broker, is the record of
what must be sent."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tasks_app.models import EmailLog
from tasks_app.queue import TaskQueue, get_task_queue
from tasks_app.services.emails.queueing import SEND_EMAIL_TASK

logger = logging.getLogger(__name__)


def emails_requeue_stale(
    *, older_than: timedelta, limit: int = 1000, task_queue: TaskQueue | None = None
) -> int:
    """Enqueue `send_email` again for rows still queued, unclaimed and untouched for `older_than`.

    Redis can lose a message: a worker pops it (BRPOP) before recording it as unacknowledged, so a
    SIGKILL in between loses it, and a Redis restarted without persistence loses all. Safe because
    `email_send` is idempotent; `older_than` must exceed the longest retry back-off
    (RETRY_BACKOFF_MAX) plus the usual queue wait, or busy rows get a second (harmless, wasted)
    message.
    """
    task_queue = task_queue or get_task_queue()
    now = timezone.now()
    stale = (
        EmailLog.objects.filter(status=EmailLog.Status.QUEUED, updated_at__lt=now - older_than)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(stale)
    with transaction.atomic():
        for pk in ids:
            task_id = task_queue.enqueue(SEND_EMAIL_TASK, email_log_id=pk)
            EmailLog.objects.filter(pk=pk).update(task_id=task_id, updated_at=now)
    if ids:
        logger.warning("requeued %s stale emails (first id %s)", len(ids), ids[0])
    return len(ids)
