"""Reads for the overview's charts: finished tasks and failures over time, and run times per task.

Each chart is one or two grouped queries; the database does the bucketing (Django's `Trunc`:
date_trunc on Postgres, strftime on SQLite), so a page reads at most a few thousand grouped rows
whatever the size of the history. Buckets are aligned on UTC multiples of their length, and
empty ones are filled in here so that a chart's time axis has no holes.
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

from tasks_app.models import TaskAttempt

DAY = datetime.timedelta(hours=24)
WEEK = datetime.timedelta(days=7)
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


def _count(
    kind: str,
    step: datetime.timedelta,
    since: datetime.datetime,
    until: datetime.datetime | None = None,
) -> Counts:
    """Finished tasks by bucket and status, from `since` (to `until`): one grouped query, by
    `date_done` (the (date_done, task_name, status) index of migration 0004). The database
    groups by minute (steps under an hour) or by hour; those are summed into the step here."""
    rows = TaskResult.objects.filter(date_done__gte=since, status__in=states.READY_STATES)
    if until is not None:
        rows = rows.filter(date_done__lt=until)
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


def _settled_counts(
    kind: str,
    step: datetime.timedelta,
    window: datetime.timedelta,
    first: datetime.datetime,
    settled: datetime.datetime,
) -> Counts:
    """The counts of the buckets from `first` to `settled`, kept in Django's cache and extended
    by the buckets settled since the last call: at 1,000,000 rows a week, grouping the whole
    week takes about half a second on Postgres, the new buckets a few milliseconds.

    A bucket is settled one bucket after it ends (a worker's clock may run a little behind, so
    its rows land late). The whole window is counted again once the cached counts began a window
    ago, so history deleted by hand (retention never deletes inside the window) leaves the
    chart within that time."""
    key = f"tasks_app.charts.throughput:{window.total_seconds():.0f}:{step.total_seconds():.0f}"
    cached = cache.get(key)
    if cached and cached[0] <= first < cached[0] + window and first <= cached[1] <= settled:
        since, upto, counts = cached
        if upto < settled:
            counts.update(_count(kind, step, upto, settled))
    else:
        since, counts = first, _count(kind, step, first, settled)
    counts = {start: by_status for start, by_status in counts.items() if start >= first}
    cache.set(key, (since, settled, counts), timeout=window.total_seconds())
    return counts


def task_throughput(
    *,
    window: datetime.timedelta,
    step: datetime.timedelta,
    now: datetime.datetime | None = None,
) -> list[Bucket]:
    """Finished tasks per bucket of `step` over the last `window`: the settled buckets from the
    cache (and the ones settled since), the last two from the database. At most two queries."""
    now = (now or timezone.now()).astimezone(datetime.UTC)
    current = _floor(now, step)
    first = current - (math.ceil(window / step) - 1) * step
    kind = "minute" if step < datetime.timedelta(hours=1) else "hour"
    settled = max(current - step, first)
    counts = _settled_counts(kind, step, window, first, settled)
    counts.update(_count(kind, step, settled))
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
    """One query joining the attempts to their history rows (the name lives there), both read by
    time: a history row's `date_done` is its last state change, which comes after the start of
    any of its attempts, so only the rows changed in the window are joined. Postgres
    computes the percentiles (percentile_cont); SQLite has no such aggregate, so there the query
    returns the run times of the most recent SQLITE_RUNTIME_SAMPLE attempts of the window and
    the same interpolation is done here (exact below that many attempts, a sample above)."""
    start = connection.ops.adapt_datetimefield_value(since)
    source = (
        f"FROM {TaskAttempt._meta.db_table} a"
        f" JOIN {TaskResult._meta.db_table} r ON r.task_id = a.task_id"
        " WHERE a.started_at >= %s AND a.runtime_seconds IS NOT NULL AND r.date_done >= %s"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT r.task_name, count(*),"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY a.runtime_seconds),"
                " percentile_cont(0.95) WITHIN GROUP (ORDER BY a.runtime_seconds)"
                f" {source} GROUP BY r.task_name",
                [start, start],
            )
            rows = [RunTimes(name or "(unknown)", n, p50, p95) for name, n, p50, p95 in cursor]
        else:
            cursor.execute(
                f"SELECT r.task_name, a.runtime_seconds {source}"
                " ORDER BY a.started_at DESC LIMIT %s",
                [start, start, SQLITE_RUNTIME_SAMPLE],
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
