"""Publishing outbox rows to the broker: right after commit, and later by the relay.

Both paths lock the row they publish (`SELECT ... FOR UPDATE SKIP LOCKED` on Postgres; SQLite's
IMMEDIATE transactions serialise writers instead) and delete it in the same transaction, so a row
is published by one of them. If the process dies between the broker's acceptance and the commit
of the delete, the row is published again: consumers are idempotent (at-least-once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery import Celery
from django.db import transaction
from django.db.models import F

from tasks_app.models import OutboxMessage

logger = logging.getLogger(__name__)

# One try per call: a request must not wait while the broker is down; the relay tries again.
# https://docs.celeryq.dev/en/stable/userguide/calling.html#message-sending-retry
PUBLISH_RETRY_POLICY = {"max_retries": 0}


@dataclass(frozen=True)
class RelayResult:
    published: int
    failed: int
    pending: int


def outbox_publish(app: Celery, message: OutboxMessage) -> None:
    """Send one row to the broker under the task id the caller already has, with its options
    (priority, expiry as an ISO deadline, headers, exchange, routing key)."""
    app.send_task(
        message.task_name,
        args=message.args,
        kwargs=message.kwargs,
        task_id=message.task_id,
        queue=message.queue or None,  # None: routed by task name
        eta=message.eta,
        retry=True,
        retry_policy=PUBLISH_RETRY_POLICY,
        **message.options,
    )


def outbox_publish_one(app: Celery, outbox_id: int) -> bool:
    """The on-commit attempt: publish the row if nobody else has; never raise into the caller."""
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=outbox_id)
                .first()
            )
            if message is None:  # the relay has it, or has already published it
                return False
            outbox_publish(app, message)
            message.delete()
        return True
    except Exception as exc:  # the row stays; the relay publishes it when the broker is back
        _record_failure(outbox_id, exc)
        return False


def outbox_relay(app: Celery, *, batch_size: int = 100) -> RelayResult:
    """Publish committed rows whose on-commit attempt failed, oldest first, one batch.

    Stops at the first failure: when the broker is down, every other row would fail the same way.
    """
    failure: tuple[int, Exception] | None = None
    with transaction.atomic():
        batch = list(
            OutboxMessage.objects.select_for_update(skip_locked=True).order_by("id")[:batch_size]
        )
        done: list[int] = []
        for message in batch:
            try:
                outbox_publish(app, message)
            except Exception as exc:
                failure = (message.pk, exc)
                break
            done.append(message.pk)
        OutboxMessage.objects.filter(pk__in=done).delete()
    if failure:
        _record_failure(*failure)
    return RelayResult(len(done), int(failure is not None), OutboxMessage.objects.count())


def _record_failure(outbox_id: int, exc: Exception) -> None:
    logger.warning("outbox message %s not published yet: %s", outbox_id, type(exc).__name__)
    try:
        OutboxMessage.objects.filter(pk=outbox_id).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
    except Exception:  # the database itself failing must not hide the caller's success
        logger.exception("could not record the failed publish of outbox message %s", outbox_id)
