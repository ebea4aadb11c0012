"""Attempts whose worker died: ended as `lost`, and their task failed when no delivery will follow.

A worker killed with SIGKILL (an OOM kill, a deploy's grace period running out, a lost host) writes
nothing: its attempt stays `running`. An attempt is known to be lost, without guessing from its age
(an export held by a lock makes no progress and is alive), when

- a newer attempt of its task started: the broker delivered the message again;
- its task's result is final: the worker's main process recorded the pool process's death;
- its worker is back under the same name: a name is unique among live workers, so an attempt under
  it that started before this worker did belongs to the dead one (`attempts_lose_of_worker`, run
  when a worker is ready);
- its worker answers no ping while others do: a worker that never comes back (another host name).

The task itself is failed ("WorkerLostError") unless its message comes back: an `acks_late` task's
message was never acknowledged, so the broker delivers it again and that is the next attempt
(bounded by tasks_app.ledger.redeliveries). `tasks_app.fail_lost_tasks` runs the sweep every minute.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from datetime import datetime

from celery import current_app, states
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.models.ledger import Outcome, TaskAttempt

logger = logging.getLogger(__name__)

LOST_ERROR = "WorkerLostError"


def attempts_lose(*, alive: Collection[str] | None, pinged_at: datetime | None = None) -> int:
    """The sweep: end every running attempt known to be lost; return how many.

    `alive` are the workers that answered a ping sent at `pinged_at`; None or empty (the broker
    is down, or the ping reached no one, not even the worker running this) leaves that rule out.
    """
    newer = TaskAttempt.objects.filter(task_id=OuterRef("task_id"), number__gt=OuterRef("number"))
    final = TaskResult.objects.filter(task_id=OuterRef("task_id"), status__in=states.READY_STATES)
    lost = Q(Exists(newer)) | Q(Exists(final))
    if alive:
        lost |= Q(started_at__lt=pinged_at or timezone.now()) & ~Q(worker__in=list(alive))
    return _lose(_running().filter(lost))


def attempts_lose_of_worker(*, worker: str, started_before: datetime) -> int:
    """End the attempts a dead worker of this name left running (`worker` has just started)."""
    return _lose(_running().filter(worker=worker, started_at__lt=started_before))


def attempts_lost(*, task_id: str, before: TaskAttempt) -> int:
    """How many of the task's attempts before `before` ended with their worker's death (rows are
    written in order: an earlier attempt has a smaller key)."""
    return TaskAttempt.objects.filter(
        task_id=task_id, pk__lt=before.pk, outcome__in=[Outcome.RUNNING, Outcome.LOST]
    ).count()


def _running() -> QuerySet[TaskAttempt]:
    return TaskAttempt.objects.filter(outcome=Outcome.RUNNING)


def _lose(attempts: QuerySet[TaskAttempt]) -> int:
    now = timezone.now()
    found = list(attempts.values_list("pk", "task_id", "task_name"))
    if not found:
        return 0
    # Conditional on `running`: an attempt that ended meanwhile keeps its outcome.
    TaskAttempt.objects.filter(pk__in=[pk for pk, _, _ in found], outcome=Outcome.RUNNING).update(
        outcome=Outcome.LOST,
        finished_at=now,
        error=Concat(
            Value(f"{LOST_ERROR}: the worker "),
            F("worker"),
            Value(" stopped during this attempt (killed, out of memory or lost)"),
        ),
    )
    unacked = {task_id for _, task_id, name in found if _redelivered(name)}
    _fail_tasks({task_id for _, task_id, _ in found} - unacked, now)
    logger.warning("ended %s attempt(s) of dead workers as lost", len(found))
    return len(found)


def _redelivered(task_name: str) -> bool:
    """The broker delivers the message again: it was to be acknowledged after the task ran.
    (A worker has every task registered; another process, a test say, imports them first.)"""
    task = current_app.tasks.get(task_name)
    return bool(task is not None and task.acks_late)


def _fail_tasks(task_ids: set[str], now: datetime) -> None:
    """Record the failure Celery could not: the result of a task whose last attempt was lost."""
    if not task_ids:
        return
    reason = "the worker stopped during the task (killed, out of memory or lost)"
    later = TaskAttempt.objects.filter(task_id=OuterRef("task_id")).exclude(outcome=Outcome.LOST)
    # RETRY too: a cold shutdown cancels a running task as "retry", but an acknowledged message
    # never comes back (a real retry ends its attempt as `retry`: that attempt is not lost).
    unfinished = [states.STARTED, states.RETRY]
    TaskResult.objects.filter(task_id__in=task_ids, status__in=unfinished).exclude(
        Exists(later)
    ).update(
        status=states.FAILURE,
        date_done=now,
        content_type="application/json",
        content_encoding="utf-8",
        result=json.dumps(
            {"exc_type": LOST_ERROR, "exc_message": [reason], "exc_module": "billiard.exceptions"}
        ),
    )
