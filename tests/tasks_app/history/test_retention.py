"""Task history kept by policy: what expires (per status, per task name, at the boundary), the
batched delete, the command, the hourly default schedule, and Celery's own expiry switched off."""

from __future__ import annotations

import datetime
import importlib
import io
import threading

import pytest
from celery import states
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from project.env import (
    TASK_HISTORY_MIN_RETENTION,
    ConfigurationError,
    load_env,
    parse_task_history_retention,
)
from tasks_app.models import TaskAttempt, TaskRecord
from tasks_app.selectors.task_results import OVERVIEW_WINDOW, task_results_expired_counts
from tasks_app.services.history_retention import task_history_expire
from tasks_app.services.schedules import DEFAULT_SCHEDULES
from tasks_app.tasks import expire_task_history

NOW = timezone.now()
DAY = datetime.timedelta(days=1)
OVERVIEW_WINDOWS = (OVERVIEW_WINDOW, datetime.timedelta(days=7))
REPORT_KEPT_90_DAYS = {
    "success": 7 * DAY,
    "failure": 30 * DAY,
    "tasks_app.generate_user_report": 90 * DAY,
}

_serial = iter(range(10**9))


def _history(*, status: str, age: datetime.timedelta, task_name: str | None = "tasks_app.ping"):
    task_id = f"retention-{next(_serial)}"
    TaskResult.objects.create(task_id=task_id, task_name=task_name, status=status)
    # date_done is auto_now: set the age with an UPDATE, as an old row would have it.
    TaskResult.objects.filter(task_id=task_id).update(date_done=NOW - age)
    return task_id


def _kept(*task_ids: str) -> set[str]:
    return set(TaskResult.objects.filter(task_id__in=task_ids).values_list("task_id", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "kept_for"),
    [
        (states.SUCCESS, 7 * DAY),
        (states.FAILURE, 30 * DAY),
        (states.REVOKED, 30 * DAY),
        (states.REJECTED, 30 * DAY),
        (states.STARTED, 30 * DAY),  # a stalled task's only record
        (states.RETRY, 30 * DAY),
        (states.PENDING, 30 * DAY),
    ],
)
def test_each_status_is_kept_for_its_period_and_deleted_after(status, kept_for):
    second = datetime.timedelta(seconds=1)
    inside = _history(status=status, age=kept_for - second)
    at_boundary = _history(status=status, age=kept_for)
    past = _history(status=status, age=kept_for + second)

    deleted = task_history_expire(now=NOW)

    assert _kept(inside, at_boundary, past) == {inside, at_boundary}
    assert deleted == 1


@pytest.mark.django_db
@override_settings(TASK_HISTORY_RETENTION=REPORT_KEPT_90_DAYS)
def test_a_task_name_override_covers_every_status_of_that_task_only():
    report_success = _history(
        status=states.SUCCESS, age=60 * DAY, task_name="tasks_app.generate_user_report"
    )
    report_failure = _history(
        status=states.FAILURE, age=60 * DAY, task_name="tasks_app.generate_user_report"
    )
    old_report = _history(
        status=states.FAILURE, age=91 * DAY, task_name="tasks_app.generate_user_report"
    )
    ping_failure = _history(status=states.FAILURE, age=60 * DAY)
    unnamed_success = _history(status=states.SUCCESS, age=8 * DAY, task_name=None)
    unnamed_failure = _history(status=states.FAILURE, age=8 * DAY, task_name=None)

    task_history_expire(now=NOW)

    assert _kept(
        report_success, report_failure, old_report, ping_failure, unnamed_success, unnamed_failure
    ) == {report_success, report_failure, unnamed_failure}


@pytest.mark.django_db
@override_settings(TASK_HISTORY_RETENTION=parse_task_history_retention("success=7d,failure=7d"))
def test_the_overview_windows_are_covered_by_the_shortest_retention_allowed():
    # Every row inside the overview's windows (24 hours, 7 days), of every status, survives a run
    # with every period at the minimum the configuration accepts.
    assert all(window <= TASK_HISTORY_MIN_RETENTION for window in OVERVIEW_WINDOWS)
    inside = [
        _history(status=status, age=window - datetime.timedelta(seconds=1))
        for window in OVERVIEW_WINDOWS
        for status in (states.SUCCESS, states.FAILURE, states.STARTED, states.REVOKED)
    ]

    assert task_history_expire(now=NOW) == 0
    assert _kept(*inside) == set(inside)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tasks_app.ping=1d", "shorter than 7 days, the overview's longest window"),
        ("tasks_app.relay_outbox=1h", "shorter than 7 days"),
        ("success=3d", "shorter than 7 days"),
        ("tasks_app.ping=7", "is not name=period"),
        ("tasks_app.ping", "is not name=period"),
        ("ping=7d", "neither success, failure nor a dotted task name"),
    ],
)
def test_a_bad_retention_is_refused_at_start_in_one_line(monkeypatch, value, message):
    monkeypatch.setenv("TASK_HISTORY_RETENTION", value)
    monkeypatch.setenv("DJANGO_DEBUG", "true")

    with pytest.raises(ConfigurationError) as refused:
        load_env()

    assert str(refused.value).startswith("TASK_HISTORY_RETENTION: ")
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_retention_syntax_sets_defaults_and_task_names(monkeypatch):
    monkeypatch.setenv("TASK_HISTORY_RETENTION", " success=14d, tasks_app.ping=168h ,")
    monkeypatch.setenv("DJANGO_DEBUG", "true")

    assert load_env().task_history_retention_policy == {
        "success": 14 * DAY,
        "failure": 30 * DAY,
        "tasks_app.ping": 7 * DAY,
    }


@pytest.mark.django_db(transaction=True)  # the concurrent writer commits on its own connection
def test_small_batches_delete_everything_and_keep_rows_written_meanwhile():
    # Wide rows spread the history over many pages, so Postgres deletes it range by range.
    expired = [
        TaskResult(task_id=f"old-{i}", task_name="tasks_app.ping", status=states.SUCCESS)
        for i in range(300)
    ]
    for row in expired:
        row.result = "x" * 200
    TaskResult.objects.bulk_create(expired)
    TaskResult.objects.update(date_done=NOW - 8 * DAY)
    batches: list[int] = []
    written: list[str] = []

    def write_concurrently(count: int) -> None:
        batches.append(count)
        task_id = f"new-{len(batches)}"

        def insert() -> None:
            TaskResult.objects.create(task_id=task_id, task_name="tasks_app.ping", status="SUCCESS")
            connections.close_all()

        writer = threading.Thread(target=insert)
        writer.start()
        writer.join(timeout=10)
        written.append(task_id)

    deleted = task_history_expire(batch_size=10, now=NOW, on_batch=write_concurrently)

    assert deleted == sum(batches) == 300
    assert len(batches) > 2
    assert set(TaskResult.objects.values_list("task_id", flat=True)) == set(written)


@pytest.mark.django_db
def test_dry_run_lists_what_would_go_and_deletes_nothing():
    gone = _history(status=states.SUCCESS, age=8 * DAY)
    failed = _history(status=states.FAILURE, age=31 * DAY, task_name="tasks_app.send_email")
    kept = _history(status=states.FAILURE, age=8 * DAY)
    out = io.StringIO()

    call_command("expire_task_history", "--dry-run", stdout=out)

    assert _kept(gone, failed, kept) == {gone, failed, kept}
    assert "would delete 2 task history rows" in out.getvalue()
    assert task_results_expired_counts() == [
        ("tasks_app.ping", states.SUCCESS, 1),
        ("tasks_app.send_email", states.FAILURE, 1),
    ]
    call_command("expire_task_history", "--batch-size", "1", stdout=out, stderr=io.StringIO())
    assert "deleted 2 task history rows" in out.getvalue()
    assert _kept(gone, kept) == {kept}


@pytest.mark.django_db
def test_command_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("expire_task_history", "--batch-size", "0")


@pytest.mark.django_db
def test_the_task_reports_what_it_deleted():
    _history(status=states.SUCCESS, age=8 * DAY)

    assert expire_task_history() == {"deleted": 1}


@pytest.mark.django_db
def test_history_is_expired_hourly_by_a_default_schedule_instead_of_backend_cleanup():
    schedule = PeriodicTask.objects.select_related("interval").get(name="expire-task-history")

    assert schedule.task == "tasks_app.expire_task_history" in celery_app.tasks
    assert (schedule.interval.every, schedule.interval.period) == (1, IntervalSchedule.HOURS)
    assert schedule.enabled
    assert "celery.backend_cleanup" not in {d.task for d in DEFAULT_SCHEDULES}
    assert not PeriodicTask.objects.filter(task="celery.backend_cleanup").exists()


@pytest.mark.django_db
def test_migration_disables_the_backend_cleanup_of_an_existing_database():
    daily = CrontabSchedule.objects.create(minute="0", hour="4")
    old = PeriodicTask.objects.create(
        name="celery.backend_cleanup", task="celery.backend_cleanup", crontab=daily
    )
    migration = importlib.import_module("tasks_app.migrations.0006_disable_backend_cleanup")

    migration.disable_backend_cleanup(apps, None)

    old.refresh_from_db()
    assert not old.enabled
    assert "Replaced by expire-task-history" in old.description


@pytest.mark.django_db
def test_celerys_own_expiry_deletes_no_history():
    # result_expires None: beat installs no backend_cleanup and the backend's cleanup() returns
    # at once, so only the policy decides (a row two days old would go with the seed's 3600 s).
    two_days_old = _history(status=states.SUCCESS, age=2 * DAY)

    assert celery_app.conf.result_expires is None
    celery_app.backend.cleanup()

    assert _kept(two_days_old) == {two_days_old}


@pytest.mark.django_db
def test_a_deleted_tasks_record_and_attempts_go_with_it():
    old, new = (
        _history(status=states.SUCCESS, age=8 * DAY),
        _history(status=states.SUCCESS, age=DAY),
    )
    for task_id in (old, new):
        TaskRecord.objects.create(result_id=task_id, trigger="service", created_at=NOW)
        TaskAttempt.objects.create(
            task_id=task_id, task_name="tasks_app.ping", number=1, started_at=NOW
        )

    assert task_history_expire(now=NOW) == 1

    assert _kept(old, new) == {new}
    assert set(TaskRecord.objects.values_list("result_id", flat=True)) == {new}
    assert set(TaskAttempt.objects.values_list("task_id", flat=True)) == {new}
