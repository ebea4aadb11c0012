"""The port: how application code asks for background work."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PublishOptions:
    """How one task is published; every field is optional (None: Celery's default).

    The names are Celery's own `apply_async` options, so beat's options for a schedule
    (django-celery-beat's `ModelEntry.options`) fit as they are: `PublishOptions(**entry.options)`.
    """

    queue: str | None = None  # None: the task's route (settings.TASK_ROUTES)
    priority: int | None = None
    expires: datetime | float | None = None  # a deadline, or seconds from the enqueue
    headers: Mapping[str, Any] = field(default_factory=dict)
    exchange: str | None = None
    routing_key: str | None = None
    countdown: float | None = None  # seconds from the enqueue; or give `eta`
    eta: datetime | None = None  # run not before (an aware datetime)


class TaskQueue(ABC):
    """Port for asynchronous task scheduling: the seed's `enqueue` and `enqueue_at`.

    Implementations publish only after the surrounding database transaction commits, so a task
    never runs before the rows it needs exist, and nothing runs for a rolled-back transaction.
    Arguments must be JSON primitives (ids, not objects; never secrets). `countdown`, `queue`,
    `eta` and `options` are the port's own keywords, so no task argument may have those names.
    """

    def enqueue(
        self,
        task_name: str,
        *args: Any,
        countdown: float | None = None,
        queue: str | None = None,
        options: PublishOptions | None = None,
        **kwargs: Any,
    ) -> str:
        """Enqueue a task by its registered name; return the task id for tracking."""
        options = options or PublishOptions()
        if countdown is not None:
            options = replace(options, countdown=countdown)
        if queue is not None:
            options = replace(options, queue=queue)
        return self.publish(task_name, args, kwargs, options)

    def enqueue_at(
        self,
        task_name: str,
        eta: datetime,
        *args: Any,
        options: PublishOptions | None = None,
        **kwargs: Any,
    ) -> str:
        """Enqueue a task to run at `eta` (an aware datetime); return the task id."""
        return self.publish(task_name, args, kwargs, replace(options or PublishOptions(), eta=eta))

    def enqueue_many(
        self,
        task_name: str,
        calls: Iterable[tuple[Sequence[Any], Mapping[str, Any]]],
        *,
        options: PublishOptions | None = None,
    ) -> list[str]:
        """Enqueue one task per `(args, kwargs)` pair, all with the same options (a mailing);
        return their ids in order. Adapters write and publish them in batches."""
        calls = [(tuple(args), dict(kwargs)) for args, kwargs in calls]
        return self.publish_many(task_name, calls, options or PublishOptions())

    def publish_many(
        self, task_name: str, calls: list[tuple[tuple, dict[str, Any]]], options: PublishOptions
    ) -> list[str]:
        """What an adapter may implement in bulk; by default, one `publish` per call."""
        return [self.publish(task_name, args, kwargs, options) for args, kwargs in calls]

    @abstractmethod
    def publish(
        self, task_name: str, args: tuple, kwargs: dict[str, Any], options: PublishOptions
    ) -> str:
        """What an adapter implements: record the task for publishing after commit."""
