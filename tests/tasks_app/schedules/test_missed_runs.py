"""Missed runs: a schedule due and not sent is reported by the selector, `/api/schedules/`, the
overview, health (degraded) and `/metrics`; with real beat stopped over a due time, then started."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from project.health import HealthView
from tasks_app.selectors.schedules import schedule_missed_due, schedules_missed
from tasks_app.services.schedules import schedule_update, schedules_set_enabled
from tests.support.beat import CeleryBeat
from tests.support.metrics import parse
from tests.support.polling import wait_for

NAME = "cleanup-expired-sessions"
OVERVIEW = reverse("admin:tasks_app_taskoverview_changelist")
NOW = datetime.datetime(2026, 12, 3, 3, 35, tzinfo=datetime.UTC)
GRACE = datetime.timedelta(seconds=60)  # SCHEDULE_MISSED_GRACE_SECONDS' default
HOUR = datetime.timedelta(hours=1)


def _schedule(*, changed: datetime.datetime, **fields) -> PeriodicTask:
    if "crontab" not in fields:
        fields["interval"], _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    schedule = PeriodicTask.objects.create(name="probe", task="tasks_app.ping", **fields)
    PeriodicTask.objects.filter(pk=schedule.pk).update(date_changed=changed)  # auto_now
    schedule.refresh_from_db()
    return schedule


def _run(schedule: PeriodicTask, at: datetime.datetime) -> None:
    TaskResult.objects.create(task_id=f"run-{at.isoformat()}", periodic_task_name=schedule.name)
    TaskResult.objects.filter(periodic_task_name=schedule.name).update(date_created=at)


@pytest.mark.django_db
class TestRule:
    def test_an_interval_is_missed_one_period_and_the_grace_after_its_last_run(self):
        schedule = _schedule(changed=NOW - 5 * HOUR)
        last_run = NOW - HOUR - GRACE

        assert schedule_missed_due(schedule, last_sent_at=last_run + GRACE, now=NOW) is None
        assert schedule_missed_due(schedule, last_sent_at=last_run, now=NOW) is None  # on the edge
        missed = schedule_missed_due(schedule, last_sent_at=last_run - 1 * GRACE, now=NOW)
        assert missed == (last_run - GRACE + HOUR).replace(microsecond=0)

    def test_a_crontab_is_missed_at_its_own_time_after_the_grace(self):
        crontab = CrontabSchedule.objects.create(minute="30", hour="3", timezone="Europe/Paris")
        schedule = _schedule(changed=NOW - 10 * 24 * HOUR, crontab=crontab)
        yesterday = datetime.datetime(2026, 12, 2, 2, 30, 1, tzinfo=datetime.UTC)  # 03:30 Paris

        due = datetime.datetime(2026, 12, 3, 2, 30, tzinfo=datetime.UTC)
        assert schedule_missed_due(schedule, last_sent_at=yesterday, now=NOW) == due
        assert schedule_missed_due(schedule, last_sent_at=yesterday, now=due + GRACE) is None
        assert schedule_missed_due(schedule, last_sent_at=due + GRACE, now=NOW) is None

    def test_a_schedule_that_never_ran_counts_from_its_last_change(self):
        assert (
            schedule_missed_due(_schedule(changed=NOW - HOUR / 2), last_sent_at=None, now=NOW)
            is None
        )
        PeriodicTask.objects.all().delete()
        schedule = _schedule(changed=NOW - 2 * HOUR)
        assert schedule_missed_due(schedule, last_sent_at=None, now=NOW) == (NOW - HOUR).replace(
            microsecond=0
        )

    def test_disabled_and_expired_schedules_are_never_missed(self):
        disabled = _schedule(changed=NOW - 5 * HOUR, enabled=False)
        assert schedule_missed_due(disabled, last_sent_at=None, now=NOW) is None
        PeriodicTask.objects.all().delete()
        expired = _schedule(changed=NOW - 5 * HOUR, expires=NOW - 4.5 * HOUR)
        assert schedule_missed_due(expired, last_sent_at=None, now=NOW) is None

    def test_all_schedules_are_judged_in_one_query(self, django_assert_num_queries):
        schedule = _schedule(changed=timezone.now() - 5 * HOUR)
        _run(schedule, timezone.now() - 3 * HOUR)
        PeriodicTask.objects.exclude(pk=schedule.pk).update(date_changed=timezone.now())
        assert PeriodicTask.objects.count() > 5

        with django_assert_num_queries(1):
            missed = schedules_missed()

        assert list(missed) == ["probe"]


def _schedule_row(admin_client) -> dict:
    rows = admin_client.get("/api/schedules/").json()
    return next(row for row in rows if row["name"] == NAME)


def _health(client) -> dict:
    cache.delete(HealthView.cache_key)
    return client.get("/api/health/").json()


def _missed_metric(client) -> dict[str, float]:
    text = client.get("/metrics", headers={"Authorization": "Bearer t"}).content.decode()
    return {
        dict(labels)["schedule"]: value
        for (name, labels), value in parse(text).items()
        if name == "tasks_schedule_missed_runs"
    }


@pytest.mark.django_db(transaction=True)
def test_beat_stopped_over_a_due_time_is_a_missed_run_until_it_runs_again(
    beat, admin_client, client, settings
):
    settings.SCHEDULE_MISSED_GRACE_SECONDS = 2
    settings.METRICS_TOKEN = "t"
    schedules_set_enabled(schedules=PeriodicTask.objects.exclude(name=NAME), enabled=False)
    changed_at = timezone.now()
    schedule_update(
        schedule=PeriodicTask.objects.get(name=NAME), interval={"every": 3, "period": "seconds"}
    )
    wait_for(
        lambda: TaskResult.objects.filter(
            periodic_task_name=NAME, date_created__gt=changed_at
        ).exists(),
        timeout=15,
        what="a run every 3 s",
    )
    assert schedules_missed() == {}

    beat.stop()
    stopped_at = timezone.now()
    missed = wait_for(schedules_missed, timeout=15, what="the missed run")

    assert list(missed) == [NAME]
    # Due at most one interval after beat stopped (beat's due times are whole seconds: one more),
    # and reported no sooner than the grace after.
    assert missed[NAME] <= stopped_at + datetime.timedelta(seconds=3 + 1)
    row = _schedule_row(admin_client)
    assert row["missed"] is True
    assert datetime.datetime.fromisoformat(row["missed_due_at"]) == missed[NAME]
    assert datetime.datetime.fromisoformat(row["last_sent_at"]) < missed[NAME]
    body = _health(admin_client)
    assert body["status"] == "degraded" and body["down"] == [], body
    assert body["degraded"] == ["schedules"]
    assert list(body["checks"]["schedules"]["detail"]["missed"]) == [NAME]
    assert _health(client) == {"status": "degraded"}  # anonymous: the overall status only
    assert client.get("/api/health/").status_code == 200
    assert _missed_metric(client) == {NAME: 1}
    page = admin_client.get(OVERVIEW).content.decode()
    assert f"{NAME}</a>: due {missed[NAME]:%Y-%m-%d %H:%M:%S}, did not run" in page

    again = CeleryBeat().start()
    try:
        # Beat sends at once what was due while it was stopped.
        wait_for(lambda: not schedules_missed(), timeout=15, what="the run after beat's restart")
        assert _schedule_row(admin_client)["missed"] is False
        assert _health(admin_client)["checks"]["schedules"]["status"] == "up"
        assert _missed_metric(client) == {NAME: 0}
        assert (
            "None: every enabled schedule ran when it was due."
            in admin_client.get(OVERVIEW).content.decode()
        )
    finally:
        again.stop()
