"""Real beat and worker processes: a schedule edited at run time takes effect without a restart."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from tasks_app.models import BeatHeartbeat, TaskRecord
from tasks_app.services.schedules import schedule_update
from tests.support.polling import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "cleanup-expired-sessions"
LOOP = 5  # django-celery-beat's DatabaseScheduler looks at the schedule at least every 5 s


def _runs():
    return TaskResult.objects.filter(periodic_task_name=NAME, status="SUCCESS")


def test_schedule_changed_at_run_time_runs_then_stops_when_disabled(beat):
    cleanup = PeriodicTask.objects.get(name=NAME)
    assert _runs().count() == 0  # hourly: nothing due while the test runs

    changed_at = timezone.now()
    schedule_update(schedule=cleanup, interval={"every": 2, "period": "seconds"})

    first = wait_for(
        lambda: _runs().order_by("date_done").first(), timeout=LOOP + 2 + 10, what="a scheduled run"
    )
    # One loop to notice the change, one 2 s interval, and the run itself.
    assert first.date_done - changed_at < datetime.timedelta(seconds=LOOP + 2 + 3), beat.log()[
        -2000:
    ]
    assert first.task_name == "tasks_app.cleanup_sessions"
    # Beat sends through the task-queue port: the run has its ledger record, naming its schedule.
    record = TaskRecord.objects.get(pk=first.task_id)
    assert (record.trigger, record.trigger_label) == ("schedule", NAME)
    assert record.created_at <= first.date_started
    # Beat's publish is marked a moment after it, by beat's own thread.
    wait_for(
        lambda: TaskRecord.objects.filter(pk=first.task_id, published_at__isnull=False).exists(),
        timeout=5,
        what="the publish mark",
    )
    wait_for(lambda: _runs().count() >= 3, timeout=15, what="repeated runs every 2 s")

    changes_seen = beat.count("Schedule changed")
    schedule_update(schedule=PeriodicTask.objects.get(name=NAME), enabled=False)
    wait_for(
        lambda: beat.count("Schedule changed") > changes_seen,
        timeout=LOOP + 5,
        what="beat re-reading",
    )
    noticed_at = timezone.now()
    sent = beat.count(f"Sending due task {NAME}")
    # Let beat live through three of its loops (its heartbeat says it does) ...
    wait_for(
        lambda: BeatHeartbeat.objects.filter(
            last_tick_at__gte=noticed_at + datetime.timedelta(seconds=6)
        ).exists(),
        timeout=20,
        what="beat ticking for 6 s more",
    )
    # ... and it sent nothing more (a run already in flight may still finish).
    assert beat.count(f"Sending due task {NAME}") == sent
    assert not _runs().filter(date_created__gt=noticed_at + datetime.timedelta(seconds=2)).exists()


def test_health_reports_beat_last_tick(beat, admin_client):
    body = admin_client.get("/api/health/").json()  # details are for staff

    assert body["checks"]["beat"]["status"] == "up", body
    assert body["checks"]["beat"]["detail"]["age_seconds"] < 10
    assert body["checks"]["beat"]["detail"]["running"] == 1
