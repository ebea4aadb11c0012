"""Schedules (django-celery-beat's `PeriodicTask` rows), editable at run time.

Beat (`tasks_app.scheduler.DatabaseScheduler`) notices every change through `PeriodicTasks`
(updated by the model's save signals) within its loop interval, so no restart is needed.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import MultipleObjectsReturned, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import ModelEntry

from tasks_app.ledger.trigger import task_trigger
from tasks_app.queue import PublishOptions, TaskQueue, get_task_queue

logger = logging.getLogger(__name__)

_Timing = TypeVar("_Timing", IntervalSchedule, CrontabSchedule)


@dataclass(frozen=True)
class DefaultSchedule:
    name: str
    task: str
    description: str
    interval: dict[str, Any] | None = None
    crontab: dict[str, str] | None = None
    expire_seconds: int | None = None


DEFAULT_SCHEDULES: tuple[DefaultSchedule, ...] = (
    DefaultSchedule(
        name="cleanup-expired-sessions",
        task="tasks_app.cleanup_sessions",
        description="Delete expired API sessions and Django sessions (the seed's hourly job).",
        interval={"every": 1, "period": IntervalSchedule.HOURS},
        # A run that waited longer than its own period is superseded by the next one.
        expire_seconds=3600,
    ),
    DefaultSchedule(
        name="expire-reports",
        task="tasks_app.expire_reports",
        description="Delete generated reports older than REPORT_RETENTION_DAYS.",
        crontab={"minute": "30", "hour": "3"},
        expire_seconds=12 * 3600,
    ),
    DefaultSchedule(
        name="relay-outbox",
        task="tasks_app.relay_outbox",
        description="Publish tasks whose publish after commit failed (the broker was down).",
        interval={"every": 30, "period": IntervalSchedule.SECONDS},
        expire_seconds=30,
    ),
    DefaultSchedule(
        name="requeue-stale-emails",
        task="tasks_app.requeue_stale_emails",
        description="Send again emails still queued long after their message should have run.",
        interval={"every": 10, "period": IntervalSchedule.MINUTES},
        expire_seconds=600,
    ),
    DefaultSchedule(
        name="fail-stale-reports",
        task="tasks_app.fail_stale_reports",
        description="Mark failed the reports still running past their time limit (worker died).",
        interval={"every": 5, "period": IntervalSchedule.MINUTES},
        expire_seconds=300,
    ),
    DefaultSchedule(
        name="fail-lost-tasks",
        task="tasks_app.fail_lost_tasks",
        description="End the attempts of dead workers (killed, lost) and fail their reports.",
        interval={"every": 1, "period": IntervalSchedule.MINUTES},
        expire_seconds=60,
    ),
    DefaultSchedule(
        name="expire-task-history",
        task="tasks_app.expire_task_history",
        description="Delete task history past its retention (TASK_HISTORY_RETENTION), in batches.",
        interval={"every": 1, "period": IntervalSchedule.HOURS},
        expire_seconds=3600,
    ),
    DefaultSchedule(
        name="count-history-buckets",
        task="tasks_app.count_history_buckets",
        description="Count the finished tasks of each settled quarter hour for the overview's"
        " charts (without it they count them in the history on every view, and slowly).",
        interval={"every": 15, "period": IntervalSchedule.MINUTES},
        expire_seconds=900,
    ),
)


def schedules_setup_defaults(*, using: str = "default") -> list[str]:
    """Create the default schedules that do not exist yet; return the names created.

    A schedule that exists by name is never touched, so an edit made in the admin or through the
    API (another interval, disabled, another queue) survives every `migrate` and deploy. To turn a
    default off, disable it; a deleted default comes back on the next `migrate`.
    """
    existing = set(
        PeriodicTask.objects.using(using)
        .filter(name__in=[d.name for d in DEFAULT_SCHEDULES])
        .values_list("name", flat=True)
    )
    created = []
    for default in DEFAULT_SCHEDULES:
        if default.name in existing:
            continue
        with transaction.atomic(using=using):
            schedule = PeriodicTask(
                name=default.name,
                task=default.task,
                description=default.description,
                expire_seconds=default.expire_seconds,
            )
            if default.interval:
                schedule.interval = _interval(using=using, **default.interval)
            else:
                schedule.crontab = _crontab(using=using, **default.crontab)
            schedule.save(using=using)
        created.append(default.name)
        logger.info("created schedule %s", default.name)
    return created


def schedule_update(
    *,
    schedule: PeriodicTask,
    enabled: bool | None = None,
    interval: dict[str, Any] | None = None,
    crontab: dict[str, str] | None = None,
) -> PeriodicTask:
    """Change a schedule's timing or switch it on or off.

    A new timing points the schedule at a (shared, get-or-created) interval or crontab row instead
    of editing that row in place, which would silently change every other schedule using it.
    """
    if interval and crontab:
        raise ValidationError("Give either an interval or a crontab, not both.")
    with transaction.atomic():
        if interval:
            schedule.interval = _interval(**interval)
            schedule.crontab = schedule.solar = schedule.clocked = None
            schedule.one_off = False
        if crontab:
            schedule.crontab = _crontab(**crontab)
            schedule.interval = schedule.solar = schedule.clocked = None
            schedule.one_off = False
        if enabled is not None:
            schedule.enabled = enabled  # save() clears last_run_at when disabling
        schedule.save()
    return schedule


def schedules_set_enabled(*, schedules: QuerySet[PeriodicTask], enabled: bool) -> int:
    """Switch schedules on or off; return how many changed. One already so is not counted, so
    that nobody is told "enabled" for a schedule that already was (django-celery-beat's own
    admin actions count every row selected). Disabling clears `last_run_at`, as `save()` does."""
    fields: dict[str, Any] = {"enabled": enabled}
    if not enabled:
        fields["last_run_at"] = None
    with transaction.atomic():
        changed = schedules.exclude(enabled=enabled).update(**fields)
        if changed:  # a bulk update sends no save signal: tell beat itself
            PeriodicTasks.update_changed()
    return changed


def schedule_run_now(*, schedule: PeriodicTask, task_queue: TaskQueue | None = None) -> str:
    """Send the schedule's task once, now, as beat would; return its task id.

    Through the task-queue port like every other enqueue, so it is published after commit and
    kept in the outbox if the broker is down. (django-celery-beat's own admin action sends the
    queue only and drops the priority, expiry and headers.)
    """
    # ModelEntry fills in `last_run_at` on the row it reads: give it a copy, not the caller's.
    entry = ModelEntry(copy.copy(schedule))
    with task_trigger(label=f"run now: {schedule.name}"):
        return (task_queue or get_task_queue()).enqueue(
            schedule.task, *entry.args, options=PublishOptions(**entry.options), **entry.kwargs
        )


def schedule_check_interval(*, every: int, period: str) -> None:
    """The floor on intervals people give a schedule through the API and the admin's form:
    SCHEDULE_MIN_INTERVAL_SECONDS, so that nobody makes beat send a task many times a second.
    (Code and tests may schedule faster through `schedule_update`.)"""
    floor = settings.SCHEDULE_MIN_INTERVAL_SECONDS
    if every < 1 or timedelta(**{period: every}).total_seconds() < floor:
        raise ValidationError({"every": f"A schedule runs at most every {floor} seconds."})


def _interval(*, every: int, period: str, using: str = "default") -> IntervalSchedule:
    if every < 1:
        raise ValidationError({"every": "Must be at least 1."})
    if period not in dict(IntervalSchedule.PERIOD_CHOICES):
        choices = ", ".join(dict(IntervalSchedule.PERIOD_CHOICES))
        raise ValidationError({"period": f"Must be one of {choices}."})
    return _get_or_create(IntervalSchedule.objects.using(using), every=every, period=period)


def _crontab(
    *,
    minute: str = "*",
    hour: str = "*",
    day_of_week: str = "*",
    day_of_month: str = "*",
    month_of_year: str = "*",
    timezone: str = "UTC",
    using: str = "default",
) -> CrontabSchedule:
    fields = {
        "minute": minute,
        "hour": hour,
        "day_of_week": day_of_week,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "timezone": timezone,
    }
    if timezone not in available_timezones():  # ZoneInfo would read a path such as ../../x
        raise ValidationError({"timezone": f"Unknown time zone {timezone!r}."})
    CrontabSchedule(**fields).full_clean()  # the model's validators reject "61" or "mon-xyz"
    return _get_or_create(CrontabSchedule.objects.using(using), **fields)


def _get_or_create(queryset: QuerySet[_Timing], **fields: Any) -> _Timing:
    """The shared schedule row with these fields. Nothing makes the rows unique (the admin can add
    a twin), so a twin is tolerated: the oldest one is used."""
    try:
        return queryset.get_or_create(**fields)[0]
    except MultipleObjectsReturned:
        return queryset.filter(**fields).order_by("pk").first()
