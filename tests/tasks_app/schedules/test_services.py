"""Default schedules: present after migrate, created idempotently, edits never overwritten."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from project.celery import app as celery_app
from tasks_app.scheduler import DatabaseScheduler
from tasks_app.selectors.schedules import schedule_next_run
from tasks_app.services.schedules import (
    DEFAULT_SCHEDULES,
    schedule_update,
    schedules_setup_defaults,
)

pytestmark = pytest.mark.django_db


def test_default_schedules_exist_after_migrate_with_no_manual_step():
    # The test database was built by `migrate`; nothing else created these rows.
    tasks = {t.name: t for t in PeriodicTask.objects.select_related("interval", "crontab")}

    cleanup = tasks["cleanup-expired-sessions"]
    assert cleanup.task == "tasks_app.cleanup_sessions"
    assert (cleanup.interval.every, cleanup.interval.period) == (1, IntervalSchedule.HOURS)
    assert cleanup.enabled
    reports = tasks["expire-reports"]
    assert reports.task == "tasks_app.expire_reports"
    assert (reports.crontab.minute, reports.crontab.hour, reports.crontab.day_of_week) == (
        "30",
        "3",
        "*",
    )
    history = tasks["expire-task-history"]
    assert history.task == "tasks_app.expire_task_history"
    assert (history.interval.every, history.interval.period) == (1, IntervalSchedule.HOURS)
    # The recovery sweeps of the email pipeline and the reports.
    sweeps = {
        name: (tasks[name].task, tasks[name].interval.every, tasks[name].interval.period)
        for name in (
            "relay-outbox",
            "requeue-stale-emails",
            "fail-stale-reports",
            "fail-lost-tasks",
        )
    }
    assert sweeps == {
        "relay-outbox": ("tasks_app.relay_outbox", 30, IntervalSchedule.SECONDS),
        "requeue-stale-emails": ("tasks_app.requeue_stale_emails", 10, IntervalSchedule.MINUTES),
        "fail-stale-reports": ("tasks_app.fail_stale_reports", 5, IntervalSchedule.MINUTES),
        "fail-lost-tasks": ("tasks_app.fail_lost_tasks", 1, IntervalSchedule.MINUTES),
    }


def test_setup_is_idempotent(capsys):
    before = list(
        PeriodicTask.objects.order_by("pk").values_list("pk", "name", "interval_id", "crontab_id")
    )

    call_command("setup_periodic_tasks")
    call_command("setup_periodic_tasks")

    assert f"0 created, {len(DEFAULT_SCHEDULES)} already present" in capsys.readouterr().out
    after = list(
        PeriodicTask.objects.order_by("pk").values_list("pk", "name", "interval_id", "crontab_id")
    )
    assert after == before


def test_setup_leaves_edited_schedules_untouched_and_recreates_deleted_ones():
    every_5_min = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    cleanup = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    cleanup.interval = every_5_min
    cleanup.enabled = False
    cleanup.queue = "maintenance"
    cleanup.save()
    PeriodicTask.objects.filter(name="expire-reports").delete()

    created = schedules_setup_defaults()

    assert created == ["expire-reports"]
    cleanup.refresh_from_db()
    assert cleanup.interval_id == every_5_min.pk
    assert not cleanup.enabled
    assert cleanup.queue == "maintenance"
    assert PeriodicTask.objects.count() == len(DEFAULT_SCHEDULES)


@pytest.mark.django_db(transaction=True)  # the scheduler closes "old" connections itself
def test_beat_start_does_not_reset_an_edited_backend_cleanup():
    """The stock DatabaseScheduler update_or_create's `celery.backend_cleanup` at every start;
    ours leaves the row alone."""
    weekly = CrontabSchedule.objects.create(minute="15", hour="2", day_of_week="sun")
    # A database set up before history retention (tasks_app migration 0006 disables it).
    PeriodicTask.objects.create(
        name="celery.backend_cleanup", task="celery.backend_cleanup", crontab=weekly
    )

    scheduler = DatabaseScheduler(app=celery_app)  # what `celery beat` builds at start
    scheduler.setup_schedule()  # (the stock one installs its default entries here)

    assert PeriodicTask.objects.get(name="celery.backend_cleanup").crontab_id == weekly.pk


@pytest.mark.django_db
def test_next_run_of_a_crontab_is_its_exact_minute():
    reports = PeriodicTask.objects.get(name="expire-reports")  # crontab 30 3 * * *

    next_run = schedule_next_run(reports)

    assert (next_run.hour, next_run.minute, next_run.second, next_run.microsecond) == (3, 30, 0, 0)
    assert datetime.timedelta(0) < next_run - timezone.now() <= datetime.timedelta(days=1)


def test_a_new_timing_reuses_the_interval_or_crontab_row_that_already_exists():
    cleanup = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    reports = PeriodicTask.objects.get(name="expire-reports")  # crontab 30 3 * * *
    intervals, crontabs = IntervalSchedule.objects.count(), CrontabSchedule.objects.count()

    schedule_update(schedule=cleanup, interval={"every": 5, "period": IntervalSchedule.MINUTES})
    assert cleanup.interval == IntervalSchedule.objects.get(every=5, period="minutes")
    schedule_update(schedule=cleanup, crontab={"minute": "30", "hour": "3"})
    assert cleanup.crontab_id == reports.crontab_id
    schedule_update(schedule=cleanup, interval={"every": 7, "period": IntervalSchedule.DAYS})
    schedule_update(schedule=reports, interval={"every": 7, "period": IntervalSchedule.DAYS})

    assert reports.interval_id == cleanup.interval_id
    assert IntervalSchedule.objects.count() == intervals + 1  # only "every 7 days" is new
    assert CrontabSchedule.objects.count() == crontabs


def test_a_twin_timing_made_in_the_admin_is_tolerated_and_the_oldest_is_used():
    oldest = IntervalSchedule.objects.get(every=1, period=IntervalSchedule.HOURS)
    IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)  # nothing forbids it
    reports = PeriodicTask.objects.get(name="expire-reports")

    schedule_update(schedule=reports, interval={"every": 1, "period": IntervalSchedule.HOURS})

    reports.refresh_from_db()
    assert reports.interval_id == oldest.pk
