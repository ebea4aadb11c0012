"""Reads of the schedules (django-celery-beat's `PeriodicTask` rows): when each runs next, and
how its last run ended."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult


@dataclass(frozen=True)
class ScheduleRow:
    schedule: PeriodicTask
    last_run_at: datetime.datetime | None
    next_run_at: datetime.datetime | None


def schedule_list() -> QuerySet[PeriodicTask]:
    """Every schedule with its timing rows (one query), by name."""
    return PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked").order_by(
        "name"
    )


def schedule_get(*, name: str) -> PeriodicTask | None:
    """The schedule of this name with its timing rows, or None."""
    return schedule_list().filter(name=name).first()


def schedule_list_with_outcomes() -> QuerySet[PeriodicTask]:
    """`schedule_list()` with each schedule's latest run in the history (`last_status`,
    `last_done_at`, None before its first run), still one query: a subquery per column, answered
    by the history's index on `periodic_task_name`."""
    latest = TaskResult.objects.filter(periodic_task_name=OuterRef("name")).order_by(
        "-date_done", "-id"
    )
    return schedule_list().annotate(
        last_status=Subquery(latest.values("status")[:1]),
        last_done_at=Subquery(latest.values("date_done")[:1]),
    )


def schedule_next_run(schedule: PeriodicTask) -> datetime.datetime | None:
    """When beat will next send it (None if disabled or not computable, e.g. solar)."""
    if not schedule.enabled:
        return None
    try:
        if schedule.clocked_id:
            return schedule.clocked.clocked_time
        timing = schedule.schedule
        # The estimate is relative to the schedule's own clock, so it is added to that clock.
        now = timing.now()
        last = schedule.last_run_at or schedule.date_changed or now
        estimate = now + max(timing.remaining_estimate(last), datetime.timedelta(0))
        # It lands a few microseconds early (03:59:59.998 for a 04:00 crontab).
        return (estimate + datetime.timedelta(milliseconds=500)).replace(microsecond=0)
    except Exception:  # a solar schedule without a location, a removed timing row ...
        return None


def schedules_with_runs() -> list[ScheduleRow]:
    return [ScheduleRow(s, s.last_run_at, schedule_next_run(s)) for s in schedule_list()]
