"""Reads of the task history (django-celery-results' `TaskResult`) and the overview page.

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
import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from celery import states
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

logger = logging.getLogger(__name__)

STALLED = "STALLED"  # shown instead of STARTED; never stored
STALLED_GRACE = datetime.timedelta(seconds=60)
OVERVIEW_WINDOW = datetime.timedelta(hours=24)
PROBE_TIMEOUT = 0.5  # seconds; the overview must render even when the broker or workers are away


@cache
def _time_limits() -> dict[str, float]:
    """Hard time limits of the registered tasks that declare one (imported once per process)."""
    from project.celery import app

    app.loader.import_default_modules()
    return {name: task.time_limit for name, task in app.tasks.items() if task.time_limit}


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

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def other(self) -> int:
        shown = (states.SUCCESS, states.FAILURE, states.STARTED, states.RETRY)
        return sum(n for status, n in self.counts.items() if status not in shown)

    @property
    def failure_rate(self) -> float | None:
        """Failures among finished runs (SUCCESS + FAILURE); None before any finished."""
        finished = self.counts.get(states.SUCCESS, 0) + self.counts.get(states.FAILURE, 0)
        return self.counts.get(states.FAILURE, 0) / finished if finished else None


def task_stats(*, now: datetime.datetime | None = None) -> list[TaskStats]:
    """Counts by task name and status over the last 24 hours: ONE grouped query, answered from
    the (date_done, task_name, status) index added by tasks_app migration 0004."""
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
    return sorted(stats.values(), key=lambda s: s.task_name)


def monitored_queues() -> list[str]:
    """The default queue, the queues of the periodic tasks and those named in task routes."""
    queues = {settings.CELERY_TASK_DEFAULT_QUEUE}
    queues.update(
        q for q in PeriodicTask.objects.exclude(queue=None).values_list("queue", flat=True) if q
    )
    routes = getattr(settings, "CELERY_TASK_ROUTES", None)
    if isinstance(routes, dict):
        queues.update(
            route["queue"]
            for route in routes.values()
            if isinstance(route, dict) and "queue" in route
        )
    return sorted(queues)


def queue_lengths(queues: list[str]) -> dict[str, int | None]:
    """Messages waiting per queue (None when the broker cannot be asked quickly)."""
    broker = settings.CELERY_BROKER_URL
    try:
        if broker.startswith(("redis://", "rediss://")):
            return _redis_queue_lengths(broker, queues)
        if broker.startswith("filesystem://"):
            return _filesystem_queue_lengths(queues)
    except Exception as exc:  # the overview shows "unknown" rather than failing
        logger.warning("queue lengths unavailable: %r", exc)
    return dict.fromkeys(queues)


def _redis_queue_lengths(broker: str, queues: list[str]) -> dict[str, int | None]:
    import redis

    client = redis.Redis.from_url(
        broker, socket_timeout=PROBE_TIMEOUT, socket_connect_timeout=PROBE_TIMEOUT
    )
    try:
        # kombu keeps priorities 3, 6 and 9 in lists named "<queue>\x06\x16<priority>".
        pipe = client.pipeline()
        for queue in queues:
            for key in (queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))):
                pipe.llen(key)
        sizes = pipe.execute()
    finally:
        client.close()
    return {queue: sum(sizes[i * 4 : i * 4 + 4]) for i, queue in enumerate(queues)}


def _filesystem_queue_lengths(queues: list[str]) -> dict[str, int | None]:
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    names = [entry.name for entry in folder.iterdir()]  # "<ms>_<uuid>.<queue>.msg"
    return {queue: sum(name.endswith(f".{queue}.msg") for name in names) for queue in queues}


def workers_online(*, timeout: float = PROBE_TIMEOUT) -> list[str] | None:
    """Host names of the workers answering a ping within `timeout` (None if the broker is down)."""
    from project.celery import app

    try:
        replies = app.control.ping(timeout=timeout)
    except Exception as exc:
        logger.warning("workers cannot be pinged: %r", exc)
        return None
    return sorted(name for reply in replies for name in reply)


@dataclass(frozen=True)
class ScheduleRow:
    periodic_task: PeriodicTask
    last_run_at: datetime.datetime | None
    next_run_at: datetime.datetime | None


def periodic_task_next_run(task: PeriodicTask) -> datetime.datetime | None:
    """When beat will next send it (None if disabled or not computable, e.g. solar)."""
    if not task.enabled:
        return None
    try:
        if task.clocked_id:
            return task.clocked.clocked_time
        schedule = task.schedule
        # The estimate is relative to the schedule's own clock, so it is added to that clock.
        now = schedule.now()
        last = task.last_run_at or task.date_changed or now
        estimate = now + max(schedule.remaining_estimate(last), datetime.timedelta(0))
        # It lands a few microseconds early (03:59:59.998 for a 04:00 crontab).
        return (estimate + datetime.timedelta(milliseconds=500)).replace(microsecond=0)
    except Exception:  # a solar schedule without a location, a removed schedule row ...
        return None


def periodic_tasks_with_runs() -> list[ScheduleRow]:
    tasks = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked").order_by(
        "name"
    )
    return [ScheduleRow(t, t.last_run_at, periodic_task_next_run(t)) for t in tasks]
