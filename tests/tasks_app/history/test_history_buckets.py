"""The finished tasks counted by quarter hour for the overview's charts (HistoryBucket): counted
once settled, equal to the history counted live, kept for a week, and counted by a schedule."""

from __future__ import annotations

import datetime
import random

import pytest
from celery import states
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tasks_app.models import HistoryBucket
from tasks_app.selectors.charts import DAY, QUARTER, WEEK, task_throughput
from tasks_app.services.history_buckets import history_buckets_count
from tasks_app.tasks import count_history_buckets

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 3, 12, 7, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)
CHARTS = ((DAY, QUARTER), (WEEK, HOUR))  # the overview's two windows and their buckets


def _history(rows: int, *, now: datetime.datetime = NOW, seed: int = 14) -> None:
    """`rows` history rows at random times of the last 8 days, in every status."""
    pick = random.Random(seed)
    statuses = [states.SUCCESS] * 6 + [states.FAILURE, states.REVOKED, states.STARTED]
    TaskResult.objects.bulk_create(
        TaskResult(
            task_id=f"b-{now:%H%M}-{i}",
            task_name="tasks_app.ping",
            status=pick.choice(statuses),
            date_done=now - datetime.timedelta(seconds=pick.uniform(0, 8 * 86400)),
        )
        for i in range(rows)
    )


def _charts(now: datetime.datetime) -> list:
    return [task_throughput(window=w, step=s, now=now) for w, s in CHARTS]


def test_counted_quarters_give_the_charts_the_history_counts():
    _history(3000)
    live = _charts(NOW)

    counted = history_buckets_count(now=NOW)

    # The week of quarters up to the one before the current one (11:45 at 12:07).
    assert counted == 7 * 96
    assert HistoryBucket.objects.order_by("start").last().start == datetime.datetime(
        2026, 12, 3, 11, 30, tzinfo=datetime.UTC
    )
    assert _charts(NOW) == live
    total = sum(b.succeeded + b.failed + b.revoked for b in HistoryBucket.objects.all())
    assert (
        total
        == TaskResult.objects.filter(
            status__in=states.READY_STATES,
            date_done__gte=datetime.datetime(2026, 11, 26, 11, 45, tzinfo=datetime.UTC),
            date_done__lt=datetime.datetime(2026, 12, 3, 11, 45, tzinfo=datetime.UTC),
        ).count()
    )


def test_each_run_counts_the_quarters_settled_since_and_forgets_those_past_a_week():
    _history(1000)
    history_buckets_count(now=NOW)
    later = NOW + 3 * HOUR
    _history(500, now=later, seed=15)  # some of them between NOW and later

    assert history_buckets_count(now=NOW) == 0  # nothing settled since: nothing counted again
    assert history_buckets_count(now=later) == 12
    assert HistoryBucket.objects.count() == 7 * 96
    counted = _charts(later)
    assert counted == _charts_live(later)


def _charts_live(now: datetime.datetime) -> list:
    HistoryBucket.objects.all().delete()
    return _charts(now)


def test_a_gap_in_the_counted_quarters_is_counted_in_the_history():
    _history(2000)
    history_buckets_count(now=NOW)
    HistoryBucket.objects.filter(start=NOW - DAY).delete()  # a quarter of the 24-hour window

    with_gap = _charts(NOW)

    assert with_gap == _charts_live(NOW)


def test_counting_is_scheduled_every_quarter_hour():
    schedule = PeriodicTask.objects.select_related("interval").get(name="count-history-buckets")
    _history(100, now=datetime.datetime.now(datetime.UTC))

    assert schedule.task == "tasks_app.count_history_buckets" in celery_app.tasks
    assert (schedule.interval.every, schedule.interval.period) == (15, IntervalSchedule.MINUTES)
    assert schedule.enabled
    assert count_history_buckets() == {"counted": 7 * 96}
    assert count_history_buckets() == {"counted": 0}
