"""Reads for the overview's charts: finished tasks and failures over time, and run times per task.

Each chart is one or two grouped queries, so a page reads at most a few thousand grouped rows
whatever the size of the history: the quarter hours that have ended come counted from
`HistoryBucket` (tasks_app.services.history_buckets counts them as they settle), the rest from the
history, grouped by the database (Django's `Trunc`: date_trunc on Postgres, strftime on SQLite).
Buckets are aligned on UTC multiples of their length, and empty ones are filled in here so that
a chart's time axis has no holes.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from celery import states
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.db.models.functions import Trunc
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.models import HistoryBucket, TaskAttempt

DAY = datetime.timedelta(hours=24)
WEEK = datetime.timedelta(days=7)  # the longest window: HistoryBucket keeps this much
QUARTER = datetime.timedelta(minutes=15)  # HistoryBucket's bucket; a chart's is a multiple of it
HOUR = datetime.timedelta(hours=1)
SQLITE_RUNTIME_SAMPLE = 100_000


@dataclass(frozen=True)
class Bucket:
    start: datetime.datetime
    minutes: float  # the bucket's length, or the elapsed part of the bucket in progress
    finished: int = 0  # SUCCESS, FAILURE and REVOKED
    succeeded: int = 0
    failed: int = 0

    @property
    def per_minute(self) -> float:
        return self.finished / self.minutes if self.minutes else 0.0

    @property
    def failure_rate(self) -> float | None:
        """Failures among SUCCESS + FAILURE (the task list's rule); None when neither happened."""
        decided = self.succeeded + self.failed
        return self.failed / decided if decided else None


def _floor(moment: datetime.datetime, step: datetime.timedelta) -> datetime.datetime:
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return epoch + (moment - epoch) // step * step


Counts = dict[datetime.datetime, dict[str, int]]  # bucket start -> status -> tasks


def finished_tasks(
    since: datetime.datetime,
    until: datetime.datetime | None = None,
    *,
    step: datetime.timedelta = QUARTER,
) -> Counts:
    """Finished tasks (SUCCESS, FAILURE, REVOKED) by bucket of `step` (a quarter hour or whole
    hours) and status, counted in the history from `since` (to `until`): one grouped query by
    `date_done` (the (date_done, task_name, status) index of migration 0004). The database groups
    by minute (steps under an hour) or by hour (Trunc works on every database); those are summed
    into the step here."""
    rows = TaskResult.objects.filter(date_done__gte=since, status__in=states.READY_STATES)
    if until is not None:
        rows = rows.filter(date_done__lt=until)
    kind = "minute" if step < HOUR else "hour"
    counts: Counts = {}
    for moment, status, n in (
        rows.annotate(moment=Trunc("date_done", kind, tzinfo=datetime.UTC))
        .values_list("moment", "status")
        .annotate(n=Count("*"))
        .order_by()
    ):
        by_status = counts.setdefault(_floor(moment, step), {})
        by_status[status] = by_status.get(status, 0) + n
    return counts


def settled_until(now: datetime.datetime) -> datetime.datetime:
    """The end of the quarters that are settled at `now`: a quarter is settled one quarter after it
    ends (a worker's clock may run a little behind, so its rows land late)."""
    return _floor(now, QUARTER) - QUARTER


def _counted_quarters(
    first: datetime.datetime, until: datetime.datetime
) -> tuple[Counts, datetime.datetime]:
    """The quarters counted in `HistoryBucket` from `first`, as long as they follow one another
    without a gap and end by `until`; and where they stop (`first` when none is counted)."""
    counts: Counts = {}
    end = first
    for start, succeeded, failed, revoked in (
        HistoryBucket.objects.filter(start__gte=first, start__lt=until)
        .order_by("start")
        .values_list("start", "succeeded", "failed", "revoked")
    ):
        if start != end:
            break
        counts[start] = {states.SUCCESS: succeeded, states.FAILURE: failed, states.REVOKED: revoked}
        end += QUARTER
    return counts, end


def task_throughput(
    *,
    window: datetime.timedelta,
    step: datetime.timedelta,
    now: datetime.datetime | None = None,
) -> list[Bucket]:
    """Finished tasks per bucket of `step` (a quarter hour or whole hours) over the last
    `window`. Two queries: the quarters already counted (`HistoryBucket`, kept up to date by the
    schedule count-history-buckets), then the history since the last of them: at most 45 minutes of
    it while beat runs the schedule, the whole window when nothing is counted."""
    now = (now or timezone.now()).astimezone(datetime.UTC)
    current = _floor(now, step)
    first = current - (math.ceil(window / step) - 1) * step
    quarters, counted_until = _counted_quarters(first, settled_until(now))
    counts: Counts = {}
    for start, by_status in [
        *quarters.items(),
        *finished_tasks(counted_until, step=step).items(),
    ]:
        into = counts.setdefault(_floor(start, step), {})
        for status, n in by_status.items():
            into[status] = into.get(status, 0) + n
    buckets = []
    start = first
    while start <= now:
        by_status = counts.get(start, {})
        buckets.append(
            Bucket(
                start=start,
                minutes=min(step, now - start) / datetime.timedelta(minutes=1),
                finished=sum(by_status.values()),
                succeeded=by_status.get(states.SUCCESS, 0),
                failed=by_status.get(states.FAILURE, 0),
            )
        )
        start += step
    return buckets


@dataclass(frozen=True)
class RunTimes:
    task_name: str
    runs: int
    p50: float
    p95: float


def _percentile(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks: Postgres' percentile_cont."""
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def task_run_times(
    *, window: datetime.timedelta = DAY, now: datetime.datetime | None = None
) -> list[RunTimes]:
    """p50 and p95 of the ledger's finished attempts (`TaskAttempt.runtime_seconds`, every run
    of a task: retries and redeliveries too) that started since the start of the minute a
    `window` ago, by task name.

    Kept in Django's cache for the rest of the minute: over a day a minute changes nothing one
    can see, and this is the page's costliest query (0.15-0.3 s at 143,000 runs a day)."""
    minute = _floor((now or timezone.now()).astimezone(datetime.UTC), datetime.timedelta(minutes=1))
    key = f"tasks_app.charts.run_times:{window.total_seconds():.0f}:{minute:%Y%m%d%H%M}"
    return cache.get_or_set(key, lambda: _run_times(minute - window), timeout=60)


def _run_times(since: datetime.datetime) -> list[RunTimes]:
    """One query on the attempts alone, read by their start (the `started_at` index); each attempt
    carries its task's name. Postgres computes the percentiles (percentile_cont); SQLite has no
    such aggregate, so there the query returns the run times of the most recent
    SQLITE_RUNTIME_SAMPLE attempts of the window and the same interpolation is done here (exact
    below that many attempts, a sample above)."""
    start = connection.ops.adapt_datetimefield_value(since)
    source = (
        f"FROM {TaskAttempt._meta.db_table} WHERE started_at >= %s AND runtime_seconds IS NOT NULL"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT task_name, count(*),"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY runtime_seconds),"
                " percentile_cont(0.95) WITHIN GROUP (ORDER BY runtime_seconds)"
                f" {source} GROUP BY task_name",
                [start],
            )
            rows = [RunTimes(name or "(unknown)", n, p50, p95) for name, n, p50, p95 in cursor]
        else:
            cursor.execute(
                f"SELECT task_name, runtime_seconds {source} ORDER BY started_at DESC LIMIT %s",
                [start, SQLITE_RUNTIME_SAMPLE],
            )
            by_name: dict[str, list[float]] = {}
            for name, seconds in cursor:
                by_name.setdefault(name or "(unknown)", []).append(seconds)
            rows = []
            for name, values in by_name.items():
                values.sort()
                rows.append(
                    RunTimes(name, len(values), _percentile(values, 0.5), _percentile(values, 0.95))
                )
    return sorted(rows, key=lambda row: row.task_name)
