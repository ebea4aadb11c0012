"""Publishing the ledger's records to the broker: right after commit, and later by the relay.

Right after commit, the caller's process publishes its tasks over one producer connection and
hands their ids to the ledger's publish marks (tasks_app.ledger.published: written off the
caller's path). A record left unpublished (the broker
was down, or the process died between its commit and the publish) is published by the relay: at
once if the publish after commit failed, after `RELAY_GRACE` otherwise, so the relay does not race
a publish still under way. Either way a message may be sent twice; consumers are idempotent
(at-least-once), and the relay's batches lock their records (`SELECT ... FOR UPDATE SKIP LOCKED`
on Postgres) so two relays do not publish the same record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from celery import Celery
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tasks_app.ledger.attempts import QUEUED_AT
from tasks_app.ledger.enqueue import QueuedTask
from tasks_app.ledger.published import (
    ledger_mark_publish_failed,
    ledger_mark_published,
    mark_published_soon,
)
from tasks_app.queue.publish import Publisher, kept_publisher, publish_task
from tasks_app.selectors.ledger import queued_task, records_unpublished

logger = logging.getLogger(__name__)

RELAY_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class RelayResult:
    published: int
    failed: int
    pending: int


def outbox_publish(app: Celery, task: QueuedTask, publisher: Publisher) -> None:
    """Send one task to the broker under the task id the caller already has, with its options
    (priority, expiry as an ISO deadline, headers, exchange, routing key)."""
    options = dict(task.options)
    # The wait of the first attempt is measured from here (tasks_app.ledger.attempts).
    options["headers"] = {**options.get("headers", {}), QUEUED_AT: task.created_at.isoformat()}
    publish_task(
        app,
        publisher,
        name=task.task_name,
        args=task.args,
        kwargs=task.kwargs,
        task_id=task.task_id,
        queue=task.queue or None,
        eta=task.eta,
        options=options,
    )


def outbox_publish_after_commit(app: Celery, tasks: Sequence[QueuedTask]) -> int:
    """The on-commit attempt: publish, then have what the broker took marked; never raise into
    the caller (its transaction has committed). Returns how many were published."""
    sent: list[str] = []
    try:
        with kept_publisher(app) as publisher:
            for task in tasks:
                outbox_publish(app, task, publisher)
                sent.append(task.task_id)
    except Exception as exc:  # the records stay; the relay publishes them when the broker is back
        _record_failure([t.task_id for t in tasks[len(sent) :]], exc)
    if sent:
        mark_published_soon(sent)
    return len(sent)


def outbox_relay(app: Celery, *, batch_size: int = 100) -> RelayResult:
    """Publish committed records that are still unpublished, oldest first, one batch.

    Stops at the first failure: when the broker is down, every other record would fail the same
    way. A cancelled record is never published.
    """
    failure: tuple[str, Exception] | None = None
    done: list[str] = []
    with transaction.atomic():
        batch = list(
            records_unpublished()
            .filter(Q(publish_failures__gt=0) | Q(created_at__lt=timezone.now() - RELAY_GRACE))
            .select_for_update(skip_locked=True)
            .order_by("created_at")[:batch_size]
        )
        if batch:
            try:
                with kept_publisher(app) as publisher:
                    for record in batch:
                        outbox_publish(app, queued_task(record), publisher)
                        done.append(record.result_id)
            except Exception as exc:
                failure = (batch[len(done)].result_id, exc)
        ledger_mark_published(done)
    if failure:
        _record_failure([failure[0]], failure[1])
    return RelayResult(len(done), int(failure is not None), records_unpublished().count())


def _record_failure(task_ids: list[str], exc: Exception) -> None:
    logger.warning("%d task(s) not published yet: %s", len(task_ids), type(exc).__name__)
    try:
        ledger_mark_publish_failed(task_ids, f"{type(exc).__name__}: {exc}")
    except Exception:  # the database itself failing must not hide the caller's success
        logger.exception("could not record the failed publish of %d task(s)", len(task_ids))
