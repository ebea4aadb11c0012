"""The overview's charts: the history's selectors (tasks_app.selectors.charts) drawn as inline SVG
(project.svg). At most five small queries for the five charts, whatever the size of the history:
two per throughput window (the counted quarter hours, then the history since), and the run
times, kept for the rest of the minute."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.safestring import SafeString

from project.svg import (
    DANGER,
    LIGHT,
    PRIMARY,
    Column,
    Series,
    bar_chart,
    column_chart,
    nice_ceiling,
)
from tasks_app.selectors.charts import DAY, WEEK, Bucket, task_run_times, task_throughput

# (window, bucket length, a tick at every multiple of (the viewer's wall clock), tick format,
# name in headings)
WINDOWS = (
    (DAY, datetime.timedelta(minutes=15), datetime.timedelta(hours=4), "%H:%M", "24 hours"),
    (WEEK, datetime.timedelta(hours=1), datetime.timedelta(days=1), "%a %d", "7 days"),
)
WALL_EPOCH = datetime.datetime(1970, 1, 1)


@dataclass(frozen=True)
class Chart:
    heading: str
    svg: SafeString


def _passes_tick(
    start: datetime.datetime, step: datetime.timedelta, every: datetime.timedelta
) -> bool:
    """Whether a multiple of `every` on the viewer's wall clock (04:00, midnight) falls in
    (start - step, start]: at the bucket's start in UTC, in the bucket after it in a zone half an
    hour off UTC, so that such zones get their ticks too."""
    before = timezone.localtime(start - step)
    return _wall(start) // every != _wall(before) // every


def _wall(moment: datetime.datetime) -> datetime.timedelta:
    return moment.replace(tzinfo=None) - WALL_EPOCH


def _per_minute(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _percent(value: float) -> str:
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def _seconds(value: float) -> str:
    return f"{value:.3g} s"


def _throughput_charts(
    buckets: list[Bucket],
    step: datetime.timedelta,
    tick_every: datetime.timedelta,
    tick_format: str,
    name: str,
) -> list[Chart]:
    starts = [timezone.localtime(b.start) for b in buckets]
    end = timezone.localtime(buckets[-1].start + step)
    span = f"{starts[0]:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M %Z}"
    size = f"{step / datetime.timedelta(minutes=1):.0f}-minute buckets"
    ticks = [
        f"{start:{tick_format}}" if _passes_tick(start, step, tick_every) else ""
        for start in starts
    ]
    finished = sum(b.finished for b in buckets)
    failed, decided = sum(b.failed for b in buckets), sum(b.succeeded + b.failed for b in buckets)
    slug = name.replace(" ", "")
    rate = [
        Column(
            b.per_minute,
            f"{start:%a %H:%M}: {_per_minute(b.per_minute)} per minute ({b.finished} tasks)",
            tick,
        )
        for b, start, tick in zip(buckets, starts, ticks, strict=True)
    ]
    failures = [
        Column(
            b.failure_rate,
            f"{start:%a %H:%M}: no task succeeded or failed"
            if b.failure_rate is None
            else f"{start:%a %H:%M}: {_percent(b.failure_rate)} failed"
            f" ({b.failed} of {b.succeeded + b.failed})",
            tick,
        )
        for b, start, tick in zip(buckets, starts, ticks, strict=True)
    ]
    peak = max(b.per_minute for b in buckets)
    return [
        Chart(
            f"Tasks per minute, last {name}",
            column_chart(
                chart_id=f"chart-rate-{slug}",
                title=f"Tasks finished per minute, last {name}",
                description=f"{finished} tasks finished (succeeded, failed or revoked) in {size}"
                f" from {span}; the busiest bucket averaged {_per_minute(peak)} per minute.",
                columns=rate,
                value_format=_per_minute,
            ),
        ),
        Chart(
            f"Failure rate, last {name}",
            column_chart(
                chart_id=f"chart-failures-{slug}",
                title=f"Failure rate, last {name}",
                description=f"Failed among succeeded and failed tasks in {size} from {span}:"
                f" {failed} of {decided} in all. A bucket with neither has no bar.",
                columns=failures,
                value_format=_percent,
                y_max=min(1.0, nice_ceiling(max(b.failure_rate or 0 for b in buckets))),
                color=DANGER,
            ),
        ),
    ]


def overview_charts(*, now: datetime.datetime | None = None) -> list[Chart]:
    """Tasks per minute and failure rate over 24 hours and 7 days; run times by task (24 h)."""
    now = now or timezone.now()
    charts = []
    for window, step, tick_every, tick_format, name in WINDOWS:
        buckets = task_throughput(window=window, step=step, now=now)
        charts += _throughput_charts(buckets, step, tick_every, tick_format, name)
    run_times = task_run_times(window=DAY, now=now)
    charts.append(
        Chart(
            "Run time by task, last 24 hours",
            bar_chart(
                chart_id="chart-runtimes",
                title="Run time by task (median and 95th percentile), last 24 hours",
                description="; ".join(
                    f"{r.task_name}: median {_seconds(r.p50)}, 95th percentile {_seconds(r.p95)}"
                    f" over {r.runs} runs"
                    for r in run_times
                )
                or "No run finished in the last 24 hours.",
                rows=[(r.task_name, (r.p50, r.p95)) for r in run_times],
                series=[Series("median", LIGHT), Series("95th pct.", PRIMARY)],
                value_format=_seconds,
            ),
        )
    )
    return charts
