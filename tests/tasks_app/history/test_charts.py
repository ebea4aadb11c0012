"""The overview's charts: buckets, failure rates and run-time percentiles from rows at known times,
the SVG on the page, and a constant number of queries however large the history."""

from __future__ import annotations

import datetime
import re
import zoneinfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult

from project.svg import nice_ceiling
from tasks_app.charts import overview_charts
from tasks_app.models import TaskAttempt
from tasks_app.selectors.charts import DAY, WEEK, task_run_times, task_throughput
from tasks_app.services.history_buckets import history_buckets_count

OVERVIEW = reverse("admin:tasks_app_taskoverview_changelist")
NOW = datetime.datetime(2026, 12, 3, 12, 7, tzinfo=datetime.UTC)
QUARTER = datetime.timedelta(minutes=15)


@pytest.fixture(autouse=True)
def _no_cached_counts():
    """The run times are cached (tasks_app.selectors.charts); each test starts without."""
    cache.clear()
    yield
    cache.clear()


def _finished(status: str, done_at: datetime.datetime, name: str = "tasks_app.ping") -> TaskResult:
    """A history row whose last state change was at `done_at` (date_done is auto_now on save)."""
    n = TaskResult.objects.count()
    result = TaskResult.objects.create(task_id=f"t-{n}", task_name=name, status=status)
    TaskResult.objects.filter(pk=result.pk).update(date_done=done_at)
    return result


def _at(hour: int, minute: int, days_ago: int = 0) -> datetime.datetime:
    return NOW.replace(hour=hour, minute=minute) - datetime.timedelta(days=days_ago)


def _attempt(
    task: TaskResult, runtime: float | None, started_at: datetime.datetime, number: int = 1
):
    return TaskAttempt.objects.create(
        task_id=task.task_id,
        task_name=task.task_name,
        number=number,
        started_at=started_at,
        runtime_seconds=runtime,
        outcome="success" if runtime is not None else "running",
    )


@pytest.fixture
def history(db) -> None:
    """12:00-12:15 (in progress, 7 minutes gone): 2 successes. 11:45: 3 successes, 1 failure.
    11:30: one revoked, one still running. Yesterday 11:07 (outside 24 h): one success."""
    _finished("SUCCESS", _at(12, 1))
    _finished("SUCCESS", _at(12, 5))
    for minute in (46, 52, 59):
        _finished("SUCCESS", _at(11, minute))
    _finished("FAILURE", _at(11, 50))
    _finished("REVOKED", _at(11, 40))
    _finished("STARTED", _at(11, 41))
    _finished("SUCCESS", _at(11, 7, days_ago=1))


def test_last_24_hours_in_15_minute_buckets(history):
    buckets = task_throughput(window=DAY, step=QUARTER, now=NOW)

    assert len(buckets) == 96
    assert buckets[0].start == _at(12, 15, days_ago=1)
    current, quarter_to, half_past = buckets[-1], buckets[-2], buckets[-3]
    assert (current.start, current.minutes, current.finished) == (_at(12, 0), 7, 2)
    assert current.per_minute == pytest.approx(2 / 7)
    assert current.failure_rate == 0
    assert (quarter_to.start, quarter_to.finished, quarter_to.failed) == (_at(11, 45), 4, 1)
    assert quarter_to.per_minute == pytest.approx(4 / 15)
    assert quarter_to.failure_rate == pytest.approx(1 / 4)
    # Revoked counts as finished but is neither a success nor a failure; STARTED is not finished.
    assert (half_past.finished, half_past.failure_rate) == (1, None)
    assert sum(b.finished for b in buckets) == 7


def test_last_7_days_in_hourly_buckets(history):
    buckets = task_throughput(window=WEEK, step=datetime.timedelta(hours=1), now=NOW)

    assert len(buckets) == 168
    counts = {b.start: b.finished for b in buckets if b.finished}
    assert counts == {_at(12, 0): 2, _at(11, 0): 5, _at(11, 0, days_ago=1): 1}
    assert buckets[-2].failure_rate == pytest.approx(1 / 4)


def _ticks(chart) -> list[str]:
    """The axis labels of a column chart (the value axis' numbers left out)."""
    return [
        t for t in re.findall(r">([^<]+)</text>", str(chart.svg)) if not re.fullmatch(r"[\d.,]+", t)
    ]


@pytest.mark.parametrize(
    ("zone", "day_ticks", "week_ticks", "span_end"),
    [
        ("UTC", ["16:00", "20:00", "00:00"], ["Fri 27", "Sat 28"], "2026-12-03 12:15 UTC"),
        ("Asia/Tokyo", ["00:00", "04:00", "08:00"], ["Fri 27", "Sat 28"], "2026-12-03 21:15 JST"),
        # Half an hour off UTC: the hourly buckets start at :30, a day's tick comes at 00:30.
        ("Asia/Kolkata", ["20:00", "00:00", "04:00"], ["Fri 27", "Sat 28"], "2026-12-03 17:45 IST"),
    ],
)
def test_chart_times_are_in_the_viewers_time_zone(history, zone, day_ticks, week_ticks, span_end):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        day_rate, _, week_rate, *_ = overview_charts(now=NOW)

    assert _ticks(day_rate)[:3] == day_ticks and len(_ticks(day_rate)) == 6
    assert _ticks(week_rate)[:2] == week_ticks and len(_ticks(week_rate)) == 7
    assert f"to {span_end};" in str(day_rate.svg)


def test_counted_quarters_are_read_and_only_the_rest_is_counted_in_the_history(history):
    hourly = datetime.timedelta(hours=1)
    live = task_throughput(window=WEEK, step=hourly, now=NOW)
    history_buckets_count(now=NOW)  # the quarters up to 11:45 (the one before 12:00's)
    _finished("FAILURE", _at(12, 6))  # since the last counted quarter: read from the history
    TaskResult.objects.filter(date_done__lt=_at(11, 45)).delete()  # counted: gone from history

    with CaptureQueriesContext(connection) as queries:
        counted = task_throughput(window=WEEK, step=hourly, now=NOW)

    assert len(queries) == 2
    assert "tasks_app_historybucket" in queries[0]["sql"]
    assert {b.start: b.finished for b in counted if b.finished} == {
        _at(12, 0): 3,
        _at(11, 0): 5,
        _at(11, 0, days_ago=1): 1,
    }
    assert counted[:-1] == live[:-1]
    assert counted[-1].failure_rate == pytest.approx(1 / 3)


@pytest.mark.django_db
def test_run_time_percentiles_by_task_over_the_last_24_hours():
    recent = NOW - datetime.timedelta(hours=1)
    for i, runtime in enumerate([7, 1, 9, 3, 10, 2, 5, 4, 8, 6]):  # 1 to 10 seconds
        task = _finished("SUCCESS", recent, name="tasks_app.send_email")
        _attempt(task, float(runtime), recent)
        if i == 0:  # a retry of the same task is another run
            _attempt(task, None, recent, number=2)  # still running: no run time yet
    report = _finished("SUCCESS", recent, name="tasks_app.generate_user_report")
    _attempt(report, 2.0, recent)
    old = _finished("SUCCESS", NOW - DAY, name="tasks_app.generate_user_report")
    _attempt(old, 500.0, NOW - DAY - datetime.timedelta(seconds=1))

    rows = {row.task_name: row for row in task_run_times(now=NOW)}
    with CaptureQueriesContext(connection) as again:  # the same minute: from the cache
        assert task_run_times(now=NOW + datetime.timedelta(seconds=50)) == list(rows.values())

    assert set(rows) == {"tasks_app.send_email", "tasks_app.generate_user_report"}
    email = rows["tasks_app.send_email"]
    # Postgres' percentile_cont and the SQLite path interpolate alike: 5.5 and 9.55 of 1..10.
    assert (email.runs, email.p50, email.p95) == (10, pytest.approx(5.5), pytest.approx(9.55))
    report_row = rows["tasks_app.generate_user_report"]
    assert (report_row.runs, report_row.p50, report_row.p95) == (1, 2.0, 2.0)
    assert len(again) == 0


def test_axis_tops_are_readable_numbers():
    assert [nice_ceiling(v) for v in (0, 0.03, 0.9, 1, 1.2, 3, 7.5, 240)] == [
        1,
        0.05,
        1,
        1,
        2,
        5,
        10,
        500,
    ]


@pytest.mark.django_db
def test_overview_draws_the_charts_as_escaped_inline_svg(client, super_admin):
    task = _finished("FAILURE", datetime.datetime.now(datetime.UTC), name="<b>odd</b>.task")
    _attempt(task, 1.5, datetime.datetime.now(datetime.UTC))
    client.force_login(super_admin)

    response = client.get(OVERVIEW)

    assert response.status_code == 200
    page = response.content.decode().split('<section id="overview-charts">')[1]
    page = page.split("</section>")[0]
    assert page.count("<svg ") == 5
    for heading in (
        "Tasks per minute, last 24 hours",
        "Failure rate, last 7 days",
        "Run time by task, last 24 hours",
    ):
        assert f"<h3>{heading}</h3>" in page
    assert '<title id="chart-runtimes-title">Run time by task' in page
    assert "<title>&lt;b&gt;odd&lt;/b&gt;.task: median 1.5 s</title>" in page
    assert "<b>odd</b>" not in page
    assert "100% failed (1 of 1)" in page
    # Nothing for the Content-Security-Policy to block, nothing from elsewhere.
    assert "<script" not in page and "<style" not in page
    assert "href=" not in page and "src=" not in page
    assert page.count("http") == page.count('xmlns="http://www.w3.org/2000/svg"')


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 3000])
def test_overview_queries_do_not_grow_with_the_history(
    client, super_admin, django_assert_max_num_queries, rows
):
    now = datetime.datetime.now(datetime.UTC)
    TaskResult.objects.bulk_create(
        TaskResult(task_id=f"bulk-{i}", task_name=f"tasks_app.t{i % 7}", status="SUCCESS")
        for i in range(rows)
    )
    TaskAttempt.objects.bulk_create(
        TaskAttempt(
            task_id=f"bulk-{i}",
            task_name=f"tasks_app.t{i % 7}",
            number=1,
            started_at=now,
            runtime_seconds=i % 13,
        )
        for i in range(rows)
    )
    client.force_login(super_admin)

    # session + user, the 24-hour stats, the five chart queries (two per throughput chart),
    # the periodic tasks and their queues.
    with django_assert_max_num_queries(11):
        response = client.get(OVERVIEW)

    assert response.status_code == 200
    assert len(response.context["charts"]) == 5


@pytest.mark.django_db
def test_overview_charts_say_so_when_the_history_is_empty(client, super_admin):
    client.force_login(super_admin)

    page = client.get(OVERVIEW).content.decode()

    assert "No run finished in the last 24 hours." in page and "Nothing to show." in page
    assert "0 tasks finished (succeeded, failed or revoked)" in page
