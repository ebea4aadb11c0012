"""The port: how application code asks for background work."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any


class TaskQueue(ABC):
    """Port for asynchronous task scheduling.

    Implementations publish only after the surrounding database transaction commits, so a task
    never runs before the rows it needs exist, and nothing runs for a rolled-back transaction.
    Arguments must be JSON primitives (ids, not objects; never secrets).
    """

    @abstractmethod
    def enqueue(
        self,
        task_name: str,
        *args: Any,
        countdown: int | None = None,
        queue: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Enqueue a task by its registered name; return the task id for tracking."""

    @abstractmethod
    def enqueue_at(
        self,
        task_name: str,
        eta: datetime,
        *args: Any,
        queue: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Enqueue a task to run at `eta` (an aware datetime); return the task id."""
