"""Reads of the task history (django-celery-results' `TaskResult`): status, arguments, duration,
and the overview's counts.

The stalled rule, cheap on purpose (no broker round trip per row): a result still STARTED longer
than its task's hard time limit (the task's `time_limit`, else CELERY_TASK_TIME_LIMIT, else
TASK_STALLED_AFTER_SECONDS) plus a minute of grace is stalled. A live worker would have killed the
task at its time limit and stored FAILURE, so a STARTED row that old means its worker died (or was
killed) while running it.
"""

from __future__ import annotations

import ast
import datetime
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from celery import current_app, states
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django_celery_results.models import TaskResult

STALLED = "STALLED"  # shown instead of STARTED; never stored
STALLED_GRACE = datetime.timedelta(seconds=60)
OVERVIEW_WINDOW = datetime.timedelta(hours=24)


@cache
def _time_limits() -> dict[str, float]:
    """Hard time limits of the registered tasks that declare one (imported once per process).

    Celery's current app is the project's (loading Django loads it), so the task registry is read
    without importing the wiring here."""
    current_app.loader.import_default_modules()
    return {name: task.time_limit for name, task in current_app.tasks.items() if task.time_limit}


def _default_limit() -> float:
    return getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or settings.TASK_STALLED_AFTER_SECONDS


def task_results_stalled_q(*, now: datetime.datetime | None = None) -> Q:
    """The stalled rule as a filter: one OR branch per distinct time limit (still one query)."""
    now = now or timezone.now()
    by_limit: dict[float, list[str]] = {}
    for name, limit in _time_limits().items():
        by_limit.setdefault(limit, []).append(name)
    condition = Q(task_name__isnull=True) | ~Q(task_name__in=list(_time_limits()))
    condition &= Q(
        date_started__lt=now - datetime.timedelta(seconds=_default_limit()) - STALLED_GRACE
    )
    for limit, names in by_limit.items():
        cutoff = now - datetime.timedelta(seconds=limit) - STALLED_GRACE
        condition |= Q(task_name__in=names, date_started__lt=cutoff)
    return Q(status=states.STARTED) & condition


def task_result_is_stalled(result: TaskResult, *, now: datetime.datetime | None = None) -> bool:
    if result.status != states.STARTED or result.date_started is None:
        return False
    limit = _time_limits().get(result.task_name or "", _default_limit())
    return (
        result.date_started
        < (now or timezone.now()) - datetime.timedelta(seconds=limit) - STALLED_GRACE
    )


def task_result_display_status(result: TaskResult, *, now: datetime.datetime | None = None) -> str:
    return STALLED if task_result_is_stalled(result, now=now) else result.status


def task_result_duration(result: TaskResult) -> datetime.timedelta | None:
    """From start to end of a finished run (any ready state: SUCCESS, FAILURE, REVOKED ...);
    None while it runs or when the start was never recorded."""
    if result.date_started and result.date_done and result.status in states.READY_STATES:
        return result.date_done - result.date_started
    return None


def task_result_arguments(result: TaskResult) -> tuple[list[Any], dict[str, Any]]:
    """The original arguments, from the extended result.

    Celery stores `argsrepr`/`kwargsrepr` (Python reprs of JSON primitives, JSON-encoded by the
    backend); `ast.literal_eval` reads them back without running anything. A repr that Celery
    shortened ("...") does not parse, and a ValueError says so rather than guessing.
    """

    def parse(raw: str | None, empty: Any) -> Any:
        if raw in (None, ""):
            return empty
        value = json.loads(raw)
        if isinstance(value, str):
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError) as exc:
                raise ValueError(f"arguments of task {result.task_id} cannot be read back") from exc
        return value

    args = parse(result.task_args, [])
    kwargs = parse(result.task_kwargs, {})
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        raise ValueError(f"arguments of task {result.task_id} are not a list and a dict")
    return list(args), kwargs


def task_result_value(result: TaskResult) -> Any:
    """The stored result (JSON, as the project's serializer is JSON only)."""
    if not result.result:
        return None
    try:
        return json.loads(result.result)
    except ValueError:
        return result.result


@dataclass
class TaskStats:
    task_name: str
    counts: dict[str, int] = field(default_factory=dict)
    retries: int = (
        0  # attempts after a task's first (retries and redeliveries) started in the window
    )

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def other(self) -> int:
        shown = (states.SUCCESS, states.FAILURE, states.STARTED)
        return sum(n for status, n in self.counts.items() if status not in shown)

    @property
    def failure_rate(self) -> float | None:
        """Failures among finished runs (SUCCESS + FAILURE); None before any finished."""
        finished = self.counts.get(states.SUCCESS, 0) + self.counts.get(states.FAILURE, 0)
        return self.counts.get(states.FAILURE, 0) / finished if finished else None


def task_stats(*, now: datetime.datetime | None = None) -> list[TaskStats]:
    """Counts by task name and status over the last 24 hours, and the retries: two grouped
    queries, answered from the (date_done, task_name, status) index added by tasks_app migration
    0004 and from the attempts' start index."""
    from tasks_app.models.ledger import TaskAttempt

    since = (now or timezone.now()) - OVERVIEW_WINDOW
    rows = (
        TaskResult.objects.filter(date_done__gte=since)
        .values_list("task_name", "status")
        .annotate(n=Count("*"))
        .order_by()
    )
    stats: dict[str, TaskStats] = {}
    for task_name, status, n in rows:
        name = task_name or "(unknown)"
        stats.setdefault(name, TaskStats(name)).counts[status] = n
    retries = (
        TaskAttempt.objects.filter(started_at__gte=since, number__gt=1)
        .values_list("task_name")
        .annotate(n=Count("*"))
        .order_by()
    )
    for task_name, n in retries:
        name = task_name or "(unknown)"
        stats.setdefault(name, TaskStats(name)).retries = n
    return sorted(stats.values(), key=lambda s: s.task_name)


def task_results_expired_q(*, now: datetime.datetime | None = None) -> Q:
    """History past its retention (TASK_HISTORY_RETENTION), measured from `date_done` (the last
    state change): SUCCESS after the success period; every other status after the failure period
    (FAILURE, REVOKED and REJECTED are outcomes someone comes back to look into; a row left
    PENDING, RECEIVED, STARTED or RETRY that long is a stalled task's only record); a named task
    after its own period, whatever its status."""
    now = now or timezone.now()
    retention = settings.TASK_HISTORY_RETENTION
    named = {key: period for key, period in retention.items() if "." in key}
    by_status = Q(status=states.SUCCESS, date_done__lt=now - retention["success"]) | (
        ~Q(status=states.SUCCESS) & Q(date_done__lt=now - retention["failure"])
    )
    condition = (~Q(task_name__in=list(named)) & by_status) if named else by_status
    for task_name, period in named.items():
        condition |= Q(task_name=task_name, date_done__lt=now - period)
    return condition


def task_results_expired_counts(
    *, now: datetime.datetime | None = None
) -> list[tuple[str, str, int]]:
    """What the retention would delete now, as (task name, status, rows): one grouped query."""
    rows = (
        TaskResult.objects.filter(task_results_expired_q(now=now))
        .values_list("task_name", "status")
        .annotate(n=Count("*"))
        .order_by("task_name", "status")
    )
    return [(task_name or "(unknown)", status, n) for task_name, status, n in rows]
