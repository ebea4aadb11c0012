"""Reads of the schedules (django-celery-beat's `PeriodicTask` rows): when each runs next, how its
last run ended, and whether a run that was due never happened (docs/schedules.md, "Missed runs")."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult


@dataclass(frozen=True)
class ScheduleRow:
    schedule: PeriodicTask
    last_run_at: datetime.datetime | None
    next_run_at: datetime.datetime | None
    missed_due_at: datetime.datetime | None


def schedule_list() -> QuerySet[PeriodicTask]:
    """Every schedule with its timing rows (one query), by name."""
    return PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked").order_by(
        "name"
    )


def schedule_get(*, name: str) -> PeriodicTask | None:
    """The schedule of this name with its timing rows, or None."""
    return schedule_list().filter(name=name).first()


def schedule_list_with_outcomes() -> QuerySet[PeriodicTask]:
    """`schedule_list()` with each schedule's newest run in the history: when it was sent
    (`last_sent_at`), its state (`last_status`) and when that was last written (`last_done_at`),
    None before its first run. Still one query: a subquery per column, each reading one entry of
    the index on (`periodic_task_name`, `date_created`) (migration 0011)."""
    runs = TaskResult.objects.filter(periodic_task_name=OuterRef("name"))
    newest = runs.filter(date_created=OuterRef("last_sent_at")).order_by("-id")
    return schedule_list().annotate(
        last_sent_at=Subquery(runs.order_by("-date_created").values("date_created")[:1]),
        last_status=Subquery(newest.values("status")[:1]),
        last_done_at=Subquery(newest.values("date_done")[:1]),
    )


def _due_after(schedule: PeriodicTask, moment: datetime.datetime) -> datetime.datetime | None:
    """The first time after `moment` that the schedule is due (a clocked schedule: its time);
    None when not computable (a solar schedule without a location, a removed timing row ...)."""
    try:
        timing = schedule.schedule
        # The estimate is relative to the schedule's own clock, so it is added to that clock.
        now = timing.now()
        due = now + timing.remaining_estimate(moment)
    except Exception:
        return None
    # It lands a few microseconds early (03:59:59.998 for a 04:00 crontab).
    return (due + datetime.timedelta(milliseconds=500)).replace(microsecond=0)


def schedule_next_run(schedule: PeriodicTask) -> datetime.datetime | None:
    """When beat will next send it (None if disabled or not computable, e.g. solar)."""
    if not schedule.enabled:
        return None
    if schedule.clocked_id:
        return schedule.clocked.clocked_time
    now = timezone.now()
    due = _due_after(schedule, schedule.last_run_at or schedule.date_changed or now)
    return max(due, now.replace(microsecond=0)) if due else None


def schedule_missed_due(
    schedule: PeriodicTask,
    *,
    last_sent_at: datetime.datetime | None,
    now: datetime.datetime | None = None,
) -> datetime.datetime | None:
    """The due time at which this schedule should have run and did not, or None.

    Counted from the newest of its last run in the history (`last_sent_at`, when beat or "run
    now" sent it) and its last change (created, edited, enabled; beat counts a schedule that never
    ran from there too): the first due time after that, once more than
    SCHEDULE_MISSED_GRACE_SECONDS have passed with no run. Disabled schedules, and those that
    expired by then, are never missed."""
    if not schedule.enabled:
        return None
    now = now or timezone.now()
    since = max(moment for moment in (last_sent_at, schedule.date_changed) if moment)
    due = _due_after(schedule, since)
    if due is None:
        return None
    # Beat sends at once a clocked time that had passed, and waits for a start time.
    due = max(due, since.replace(microsecond=0), schedule.start_time or due)
    grace = datetime.timedelta(seconds=settings.SCHEDULE_MISSED_GRACE_SECONDS)
    if due + grace >= now or (schedule.expires and schedule.expires <= due):
        return None
    return due


def schedules_with_runs(*, now: datetime.datetime | None = None) -> list[ScheduleRow]:
    """Every schedule with its last and next run, and the run it missed (one query)."""
    return [
        ScheduleRow(
            schedule,
            schedule.last_run_at,
            schedule_next_run(schedule),
            schedule_missed_due(schedule, last_sent_at=schedule.last_sent_at, now=now),
        )
        for schedule in schedule_list_with_outcomes()
    ]


def schedules_missed(*, now: datetime.datetime | None = None) -> dict[str, datetime.datetime]:
    """Every enabled schedule by name, with the due time it missed; only those that missed one."""
    return {
        row.schedule.name: row.missed_due_at
        for row in schedules_with_runs(now=now)
        if row.missed_due_at
    }
