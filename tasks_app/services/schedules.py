"""Periodic schedules stored in the database (django-celery-beat), editable at run time.

Beat (`tasks_app.scheduler.DatabaseScheduler`) notices every change through `PeriodicTasks`
(updated by the model's save signals) within its loop interval, so no restart is needed.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import (
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DefaultSchedule:
    name: str
    task: str
    description: str
    interval: dict[str, Any] | None = None
    crontab: dict[str, str] | None = None
    expire_seconds: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


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
        # Beat's own name for this entry; our scheduler does not re-create it at start.
        name="celery.backend_cleanup",
        task="celery.backend_cleanup",
        description="Delete task results older than CELERY_RESULT_EXPIRES from the ORM.",
        crontab={"minute": "0", "hour": "4"},
        expire_seconds=12 * 3600,
    ),
)


def periodic_tasks_setup_defaults(*, using: str = "default") -> list[str]:
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
            task = PeriodicTask(
                name=default.name,
                task=default.task,
                description=default.description,
                expire_seconds=default.expire_seconds,
            )
            if default.interval:
                task.interval = _interval(using=using, **default.interval)
            else:
                task.crontab = _crontab(using=using, **default.crontab)
            task.save(using=using)
        created.append(default.name)
        logger.info("created periodic task %s", default.name)
    return created


def periodic_task_update(
    *,
    periodic_task: PeriodicTask,
    enabled: bool | None = None,
    interval: dict[str, Any] | None = None,
    crontab: dict[str, str] | None = None,
) -> PeriodicTask:
    """Change a schedule's timing or switch it on or off.

    A new timing points the task at a (shared, get-or-created) schedule row instead of editing the
    row in place, which would silently change every other task using it.
    """
    if interval and crontab:
        raise ValidationError("Give either an interval or a crontab, not both.")
    with transaction.atomic():
        if interval:
            periodic_task.interval = _interval(**interval)
            periodic_task.crontab = periodic_task.solar = periodic_task.clocked = None
            periodic_task.one_off = False
        if crontab:
            periodic_task.crontab = _crontab(**crontab)
            periodic_task.interval = periodic_task.solar = periodic_task.clocked = None
            periodic_task.one_off = False
        if enabled is not None:
            periodic_task.enabled = enabled  # save() clears last_run_at when disabling
        periodic_task.save()
    return periodic_task


def periodic_task_publish_options(periodic_task: PeriodicTask) -> dict[str, Any]:
    """The publish options beat itself uses for this entry (see django-celery-beat's ModelEntry):
    queue, exchange, routing key, priority, expiry and headers, plus `periodic_task_name` so the
    result is filed under the schedule in the task history."""
    options: dict[str, Any] = {
        option: getattr(periodic_task, option)
        for option in ("queue", "exchange", "routing_key", "priority")
        if getattr(periodic_task, option) not in (None, "")
    }
    if periodic_task.expires_:
        options["expires"] = periodic_task.expires_
    headers = json.loads(periodic_task.headers or "{}")
    headers["periodic_task_name"] = periodic_task.name
    options["headers"] = headers
    return options


def periodic_task_run_now(*, periodic_task: PeriodicTask) -> str:
    """Publish the task once, now, exactly as beat would; return its task id.

    This bypasses the task-queue port on purpose: the port has no priority, expiry or headers, and
    "run now" must behave like the scheduled run (django-celery-beat's own admin action drops all
    but the queue).
    """
    from project.celery import app

    task_id = str(uuid.uuid4())
    args = json.loads(periodic_task.args or "[]")
    kwargs = json.loads(periodic_task.kwargs or "{}")
    options = periodic_task_publish_options(periodic_task)
    transaction.on_commit(
        lambda: app.send_task(
            periodic_task.task, args=args, kwargs=kwargs, task_id=task_id, **options
        )
    )
    return task_id


def _interval(*, every: int, period: str, using: str = "default") -> IntervalSchedule:
    if every < 1:
        raise ValidationError({"every": "Must be at least 1."})
    if period not in dict(IntervalSchedule.PERIOD_CHOICES):
        choices = ", ".join(dict(IntervalSchedule.PERIOD_CHOICES))
        raise ValidationError({"period": f"Must be one of {choices}."})
    schedule = IntervalSchedule.objects.using(using).filter(every=every, period=period).first()
    return schedule or IntervalSchedule.objects.using(using).create(every=every, period=period)


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
    schedule = CrontabSchedule(**fields)
    schedule.full_clean()  # the model's validators reject "61" or "mon-xyz"
    existing = CrontabSchedule.objects.using(using).filter(**fields).first()
    if existing:
        return existing
    schedule.save(using=using)
    return schedule
