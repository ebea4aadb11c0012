"""The numbers Prometheus scrapes from `/metrics` (project/metrics.py), read from the database and
the broker at scrape time.

An exporter fed from the history rather than counters in the worker processes: prefork children,
several workers and several web processes all write to the same tables, so one query answers for
all of them, and a restarted worker loses nothing.

Counters (`*_total` and the histograms) count what happened since 00:00 UTC today and restart
from zero at midnight, which Prometheus' `rate()` and `increase()` treat as a process restart.
Today's rows are never deleted (TASK_HISTORY_RETENTION is at least 7 days), so within a day they
only grow; every query reads one day at most, through an index on the date it filters.

Every query is one aggregate with GROUP BY. The selectors below are the only place that knows which
table a number comes from: task states from TaskResult, run and wait times from the ledger's
attempts, the outbox from its unpublished records; missed schedule runs come from the schedules'
selector (one query over the schedules and their newest runs).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from celery import states
from django.db.models import Case, Count, F, Min, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django_celery_results.models import TaskResult
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from tasks_app.models import EmailLog, TaskAttempt, UserReport
from tasks_app.selectors.beat import beat_status
from tasks_app.selectors.broker import monitored_queues, queue_lengths, workers_online
from tasks_app.selectors.ledger import records_unpublished
from tasks_app.selectors.schedules import schedules_with_runs
from tasks_app.selectors.task_results import STALLED, task_results_stalled_q

# Upper bounds (seconds) of the histogram buckets: from a ping to a report near its 300 s limit.
RUNTIME_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
WAIT_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
FINISHED_STATES = sorted(states.READY_STATES)  # SUCCESS, FAILURE, REVOKED: they never change
IN_PROGRESS_STATES = [states.STARTED, states.RETRY]


def counting_since(now: datetime.datetime | None = None) -> datetime.datetime:
    """00:00 UTC today: where the counters start."""
    return (
        (now or timezone.now())
        .astimezone(datetime.UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts (one per bound, then +Inf), the sum and the count of one series."""

    buckets: list[tuple[str, int]]
    sum_seconds: float


def _histograms(
    rows: QuerySet[TaskAttempt], field: str, bounds: tuple[float, ...]
) -> dict[str, Histogram]:
    """Per task name, a histogram of `field` (seconds) over attempts, in one query: a conditional
    count per bucket, the sum and the count."""
    counts = {
        f"le_{i}": Count("pk", filter=Q(**{f"{field}__lte": bound}))
        for i, bound in enumerate(bounds)
    }
    result = {}
    for row in (
        rows.filter(**{f"{field}__isnull": False})
        .values(name=F("task_name"))
        .annotate(total=Count("pk"), sum=Sum(field), **counts)
        .order_by()
    ):
        buckets = [(f"{bound:g}", row[f"le_{i}"]) for i, bound in enumerate(bounds)]
        result[row["name"] or ""] = Histogram([*buckets, ("+Inf", row["total"])], row["sum"])
    return result


def tasks_finished(since: datetime.datetime) -> dict[tuple[str, str], int]:
    """Tasks that reached a final state since `since`, by (task name, state)."""
    rows = (
        TaskResult.objects.filter(date_done__gte=since, status__in=FINISHED_STATES)
        .values("task_name", "status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {(row["task_name"] or "", row["status"]): row["count"] for row in rows}


def tasks_in_progress() -> dict[tuple[str, str], int]:
    """Tasks started and not finished, by (task name, state): STARTED (running), STALLED (started
    longer ago than its time limit allows: its worker died), RETRY (waiting to run again)."""
    rows = (
        TaskResult.objects.filter(status__in=IN_PROGRESS_STATES)
        .annotate(
            state=Case(When(task_results_stalled_q(), then=Value(STALLED)), default=F("status"))
        )
        .values("task_name", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {(row["task_name"] or "", row["state"]): row["count"] for row in rows}


def task_runtimes(since: datetime.datetime) -> dict[str, Histogram]:
    """Run time of the attempts started since `since` that have finished (each retry and each
    redelivery is an attempt of its own), per task name."""
    return _histograms(
        TaskAttempt.objects.filter(started_at__gte=since), "runtime_seconds", RUNTIME_BUCKETS
    )


def task_queue_waits(since: datetime.datetime) -> dict[str, Histogram]:
    """Wait of the attempts started since `since`, from queued (or due, for an ETA) to started,
    per task name."""
    return _histograms(
        TaskAttempt.objects.filter(started_at__gte=since), "wait_seconds", WAIT_BUCKETS
    )


def outbox_waiting() -> tuple[int, float | None]:
    """Tasks committed but not yet accepted by the broker, and the age in seconds of the oldest."""
    row = records_unpublished().aggregate(count=Count("pk"), oldest=Min("created_at"))
    oldest = row["oldest"]
    return row["count"], (timezone.now() - oldest).total_seconds() if oldest else None


def emails_finished(since: datetime.datetime) -> dict[str, int]:
    """Emails sent and failed for good since `since`, by status.

    The row's last change is its outcome; only rows created the day before or later are read (the
    index on status and creation), which every send but one retried for a day includes."""
    rows = (
        EmailLog.objects.filter(
            status__in=[EmailLog.Status.SENT, EmailLog.Status.FAILED],
            created_at__gte=since - datetime.timedelta(days=1),
            updated_at__gte=since,
        )
        .values("status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts = dict.fromkeys([EmailLog.Status.SENT, EmailLog.Status.FAILED], 0)
    counts.update({row["status"]: row["count"] for row in rows})
    return counts


def emails_queued() -> int:
    return EmailLog.objects.filter(status=EmailLog.Status.QUEUED).count()


def reports_by_status() -> dict[str, int]:
    """User reports kept (REPORT_RETENTION_DAYS), by status; every status present, 0 if none."""
    counts = dict.fromkeys(UserReport.Status.values, 0)
    rows = UserReport.objects.values("status").annotate(count=Count("pk")).order_by()
    counts.update({row["status"]: row["count"] for row in rows})
    return counts


class TasksCollector(Collector):
    """Every metric of the app, computed when Prometheus scrapes (prometheus_client's custom
    collector: https://prometheus.github.io/client_python/collector/custom/)."""

    def collect(self) -> Iterator[Metric]:
        since = counting_since()
        # A ping waits for its whole timeout (a second on Redis): it runs while the queries do.
        with ThreadPoolExecutor(max_workers=1) as pool:
            workers = pool.submit(workers_online)
            yield from self._tasks(since)
            yield from self._outbox()
            yield from self._beat()
            yield self._schedules()
            yield from self._emails(since)
            yield self._reports()
            yield from self._broker(workers.result())

    def _tasks(self, since: datetime.datetime) -> Iterator[Metric]:
        finished = CounterMetricFamily(
            "tasks_finished",
            "Tasks that reached a final state (SUCCESS, FAILURE, REVOKED); restarts at 00:00 UTC.",
            labels=["task_name", "state"],
        )
        for (name, state), count in sorted(tasks_finished(since).items()):
            finished.add_metric([name, state], count)
        yield finished
        running = GaugeMetricFamily(
            "tasks_in_progress",
            "Tasks started and not finished: STARTED (running), STALLED (past its time limit: its "
            "worker died) or RETRY (waiting to run again).",
            labels=["task_name", "state"],
        )
        for (name, state), count in sorted(tasks_in_progress().items()):
            running.add_metric([name, state], count)
        yield running
        for metric, doc, histograms in (
            ("tasks_runtime_seconds", "Run time of each finished attempt", task_runtimes(since)),
            ("tasks_queue_wait_seconds", "Queued (or due) to started", task_queue_waits(since)),
        ):
            family = HistogramMetricFamily(
                metric, f"{doc}; restarts at 00:00 UTC.", labels=["task_name"]
            )
            for name, histogram in sorted(histograms.items()):
                family.add_metric([name], histogram.buckets, histogram.sum_seconds)
            yield family

    def _broker(self, workers: list[str] | None) -> Iterator[Metric]:
        lengths = queue_lengths(monitored_queues())
        up = all(length is not None for length in lengths.values())
        yield GaugeMetricFamily("tasks_broker_up", "1 if the broker answered.", value=int(up))
        depth = GaugeMetricFamily(
            "tasks_queue_messages", "Messages waiting in the queue.", labels=["queue"]
        )
        for queue, length in lengths.items():
            if length is not None:
                depth.add_metric([queue], length)
        yield depth
        if workers is not None:
            yield GaugeMetricFamily(
                "tasks_workers_online", "Workers answering a ping.", value=len(workers)
            )

    def _outbox(self) -> Iterator[Metric]:
        count, oldest_age = outbox_waiting()
        yield GaugeMetricFamily(
            "tasks_outbox_messages",
            "Tasks committed and not yet handed to the broker.",
            value=count,
        )
        yield GaugeMetricFamily(
            "tasks_outbox_oldest_age_seconds",
            "Age of the oldest task waiting in the outbox (0 when it is empty).",
            value=oldest_age or 0,
        )

    def _beat(self) -> Iterator[Metric]:
        status = beat_status()
        yield GaugeMetricFamily(
            "tasks_beat_heartbeat_age_seconds",
            "Seconds since beat's last tick (+Inf if no beat ever ticked).",
            value=status.age_seconds if status.age_seconds is not None else float("inf"),
        )
        yield GaugeMetricFamily(
            "tasks_beat_running",
            "Beats that ticked within BEAT_DOWN_AFTER_SECONDS (one sends, the rest on standby).",
            value=len(status.running),
        )

    def _schedules(self) -> Metric:
        family = GaugeMetricFamily(
            "tasks_schedule_missed_runs",
            "1 if the enabled schedule's last due run did not happen (docs/schedules.md), else 0.",
            labels=["schedule"],
        )
        for row in schedules_with_runs():
            if row.schedule.enabled:
                family.add_metric([row.schedule.name], int(row.missed_due_at is not None))
        return family

    def _emails(self, since: datetime.datetime) -> Iterator[Metric]:
        finished = CounterMetricFamily(
            "tasks_emails",
            "Emails sent, or failed for good; restarts at 00:00 UTC.",
            labels=["status"],
        )
        for status, count in emails_finished(since).items():
            finished.add_metric([status], count)
        yield finished
        yield GaugeMetricFamily(
            "tasks_emails_queued", "Emails not yet sent.", value=emails_queued()
        )

    def _reports(self) -> Metric:
        family = GaugeMetricFamily(
            "tasks_reports", "User reports kept, by status.", labels=["status"]
        )
        for status, count in reports_by_status().items():
            family.add_metric([status], count)
        return family
