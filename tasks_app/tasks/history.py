"""Task history housekeeping and counts (scheduled in the database by django-celery-beat),
and the end of what a dead worker left running: every minute, when a worker comes up, and when
a pool process dies."""

from __future__ import annotations

import logging
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import shared_task
from celery.signals import task_failure, worker_init, worker_ready
from django.db import connection
from django.utils import timezone

from tasks_app.ledger.lost import attempts_lose, attempts_lose_of_worker
from tasks_app.selectors.broker import workers_online
from tasks_app.services.history_buckets import history_buckets_count
from tasks_app.services.history_retention import task_history_expire
from tasks_app.services.reports.housekeeping import reports_fail_stale

logger = logging.getLogger(__name__)

# A worker that does not answer in this long is taken for dead (its main process answers from its
# event loop, however busy its pool is).
PING_TIMEOUT = 2.0


@shared_task(name="tasks_app.expire_task_history", time_limit=900, soft_time_limit=840)
def expire_task_history() -> dict[str, int]:
    """Delete task history past its retention (TASK_HISTORY_RETENTION), in short batches.

    On redelivery or an overlapping run it deletes only what is still there and counts only the
    rows it deleted itself, so running twice is harmless.
    """
    return {"deleted": task_history_expire()}


@shared_task(name="tasks_app.count_history_buckets", time_limit=300, soft_time_limit=240)
def count_history_buckets() -> dict[str, int]:
    """Count the finished tasks of the quarter hours settled since the last run, for the overview's
    charts. A redelivery or an overlapping run finds them counted and counts nothing again."""
    return {"counted": history_buckets_count()}


@shared_task(name="tasks_app.fail_lost_tasks", time_limit=120)
def fail_lost_tasks() -> dict[str, int]:
    """Every minute: end the attempts of dead workers, then fail the reports they were exporting.
    Conditional updates only: a redelivered or overlapping run changes nothing twice."""
    pinged_at = timezone.now()
    lost = attempts_lose(alive=workers_online(timeout=PING_TIMEOUT), pinged_at=pinged_at)
    return {"attempts": lost, "reports": reports_fail_stale()}


_started_at: dict[str, Any] = {}


@worker_init.connect
def _stamp_start(sender=None, **kwargs: Any) -> None:
    """Before the worker consumes: an attempt under its name that started earlier is not its own."""
    _started_at["at"] = timezone.now()


@worker_ready.connect
def _end_what_a_dead_predecessor_left(sender=None, **kwargs: Any) -> None:
    """A worker back under its name (after a SIGKILL, a crash, a deploy's grace running out)
    says at once what its predecessor lost, instead of leaving it `running` until a sweep."""
    try:
        if attempts_lose_of_worker(worker=sender.hostname, started_before=_started_at["at"]):
            reports_fail_stale()
    except Exception:  # the database may be down: the every-minute sweep does it later
        logger.exception("could not end the attempts a previous %s left running", sender.hostname)
    finally:
        connection.close()  # the main process holds no connection while it consumes


@task_failure.connect
def _end_the_attempt_of_a_dead_pool_process(sender=None, exception=None, **kwargs: Any) -> None:
    """In the main process, when a pool process died mid-task and Celery recorded the failure:
    the attempt and, for a report, the report say so now rather than at the next sweep."""
    if not isinstance(exception, WorkerLostError):
        return
    try:
        if attempts_lose(alive=None):
            reports_fail_stale()
    except Exception:  # the every-minute sweep does it later
        logger.exception("could not end the attempt of a dead pool process")
