"""Beat's scheduler: django-celery-beat's `DatabaseScheduler` with three changes.

Run it with `celery -A project beat` (settings.CELERY_BEAT_SCHEDULER names it). Only ONE beat may
run against a database: two would publish every periodic task twice.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import time

from celery.beat import SchedulingError
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler as BaseDatabaseScheduler

from tasks_app.ledger.trigger import task_trigger
from tasks_app.models import BeatHeartbeat, Trigger
from tasks_app.queue import PublishOptions, get_task_queue

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = 5.0  # seconds between two heartbeat writes (beat ticks at least this often)
HEARTBEAT_KEEP = datetime.timedelta(days=1)  # rows of beats gone longer than this are removed


class DatabaseScheduler(BaseDatabaseScheduler):
    """1. Writes a heartbeat row (`BeatHeartbeat`) so the health check sees a dead or second beat.
    2. Does not install its default `celery.backend_cleanup` entry: the stock scheduler
       `update_or_create`s it at every start, silently undoing an edit made in the admin. Ours is
       created once by `manage.py setup_periodic_tasks` (run after every `migrate`).
    3. Sends each run through the task-queue port, so the history has it from the moment it is
       due, triggered by its schedule, and a run due while the broker is down waits in the ledger
       for the relay instead of being lost.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._instance = f"{socket.gethostname()}:{os.getpid()}"
        self._started_at = timezone.now()
        self._last_heartbeat = 0.0
        super().__init__(*args, **kwargs)

    def install_default_entries(self, data) -> None:
        """Deliberately nothing: see the class docstring."""

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        entry = self.reserve(entry) if advance else entry
        try:
            with task_trigger(Trigger.SCHEDULE, label=entry.name):
                task_id = get_task_queue().enqueue(
                    entry.task, *entry.args, options=PublishOptions(**entry.options), **entry.kwargs
                )
        except Exception as exc:
            raise SchedulingError(f"Couldn't apply scheduled task {entry.name}: {exc}") from exc
        finally:
            self._tasks_since_sync += 1
            if self.should_sync():
                self._do_sync()
        return self.app.AsyncResult(task_id)

    def tick(self, *args, **kwargs) -> float:
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_EVERY:
            self._heartbeat()
        return super().tick(*args, **kwargs)

    def _heartbeat(self) -> None:
        now = timezone.now()
        try:
            close_old_connections()
            BeatHeartbeat.objects.update_or_create(
                instance=self._instance,
                defaults={"last_tick_at": now},
                create_defaults={"started_at": self._started_at, "last_tick_at": now},
            )
            if self._last_heartbeat == 0.0:
                BeatHeartbeat.objects.filter(last_tick_at__lt=now - HEARTBEAT_KEEP).delete()
        except DatabaseError as exc:  # the schedule itself will log and retry; beat keeps going
            logger.warning("beat heartbeat not written: %r", exc)
            return
        self._last_heartbeat = time.monotonic()
