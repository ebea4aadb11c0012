"""Beat's scheduler: django-celery-beat's `DatabaseScheduler` with five changes.

Run it with `celery -A project beat` (settings.CELERY_BEAT_SCHEDULER names it). Any number of beats
may run against a database: the one holding the lease (tasks_app.services.beat_lease) sends, the
others wait on standby and take over within `BEAT_LEASE_SECONDS` + `STANDBY_POLL` of its death.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
import time

from celery.beat import SchedulingError
from django.db import (
    DatabaseError,
    InterfaceError,
    close_old_connections,
    connections,
    transaction,
)
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler as BaseDatabaseScheduler

from tasks_app.ledger.trigger import task_trigger
from tasks_app.models import BeatHeartbeat, Trigger
from tasks_app.queue import PublishOptions, get_task_queue
from tasks_app.services.beat_lease import beat_lease_release, beat_lease_take

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = 5.0  # seconds between two heartbeat writes (beat ticks at least this often)
HEARTBEAT_KEEP = datetime.timedelta(days=1)  # rows of beats gone longer than this are removed
STANDBY_POLL = 2.0  # seconds between two tries of a standby beat to take the lease


class DatabaseScheduler(BaseDatabaseScheduler):
    """1. Writes a heartbeat row (`BeatHeartbeat`) so the health check sees a dead beat, and
       which beat leads.
    2. Sends only while it holds the beat lease; without it, it ticks on standby, and reads the
       schedule afresh from the database when it takes the lease (the last runs are the
       leader's, not what it read at start).
    3. Does not install its default `celery.backend_cleanup` entry: the stock scheduler
       `update_or_create`s it at every start, silently undoing an edit made in the admin. Ours is
       created once by `manage.py setup_periodic_tasks` (run after every `migrate`).
    4. Sends each run through the task-queue port, so the history has it from the moment it is
       due, triggered by its schedule, and a run due while the broker is down waits in the ledger
       for the relay instead of being lost.
    5. Records each run (last run, run count) in the transaction that records its task, instead
       of every few minutes: a beat restarted right after sending does not send it again (a
       one-off schedule runs once; django-celery-beat #828), and a run that could not be
       recorded (the database was down) is due again once it is back.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._instance = f"{socket.gethostname()}:{os.getpid()}"
        self._started_at = timezone.now()
        self._last_heartbeat = 0.0
        self._leading: bool | None = None  # not known before the first tick
        self._lease_renewed = 0.0
        super().__init__(*args, **kwargs)

    def install_default_entries(self, data) -> None:
        """Deliberately nothing: see the class docstring."""

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        entry = self.reserve(entry) if advance else entry
        try:
            with transaction.atomic():
                if not beat_lease_take(holder=self._instance):
                    raise SchedulingError("this beat no longer holds the lease")
                with task_trigger(Trigger.SCHEDULE, label=entry.name):
                    task_id = get_task_queue().enqueue(
                        entry.task,
                        *entry.args,
                        options=PublishOptions(**entry.options),
                        **entry.kwargs,
                    )
                PeriodicTask.objects.filter(pk=entry.model.pk).update(
                    last_run_at=entry.model.last_run_at,
                    total_run_count=entry.model.total_run_count,
                )
        except Exception as exc:
            self._leading = False  # re-take the lease, and re-read what ran, at the next tick
            raise SchedulingError(f"Couldn't apply scheduled task {entry.name}: {exc}") from exc
        self._dirty.discard(entry.name)  # recorded above; nothing left for sync()
        return self.app.AsyncResult(task_id)

    def tick(self, *args, **kwargs) -> float:
        self._lead()
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_EVERY:
            self._heartbeat()
        if not self._leading:
            return STANDBY_POLL
        return super().tick(*args, **kwargs)

    def close(self) -> None:
        super().close()
        if self._leading:  # hand over now rather than after the lease's expiry
            # Celery's SIGTERM handler closes the scheduler from inside whatever it interrupted,
            # perhaps a query on this thread's connection: release on a connection of its own.
            releasing = threading.Thread(target=self._release, name="beat-lease-release")
            releasing.start()
            releasing.join(timeout=5)

    def _release(self) -> None:
        try:
            beat_lease_release(holder=self._instance)
        except Exception as exc:  # it expires by itself
            logger.warning("beat lease not released: %r", exc)
        finally:
            connections.close_all()

    def _lead(self) -> None:
        """Take or renew the lease when due; on taking it, read the schedule afresh."""
        if self._leading and time.monotonic() - self._lease_renewed < HEARTBEAT_EVERY:
            return
        renewed = time.monotonic()
        try:
            close_old_connections()
            leading = beat_lease_take(holder=self._instance)
        except (DatabaseError, InterfaceError) as exc:
            logger.warning("beat lease not renewed: %r", exc)
            leading = False
        if leading and not self._leading:
            logger.info("beat %s holds the lease: sending", self._instance)
            self._initial_read = True
            self._heap = None
        elif not leading and self._leading is not False:
            logger.info("beat %s on standby: it does not hold the lease", self._instance)
        self._leading = leading
        if leading:
            self._lease_renewed = renewed

    def _heartbeat(self) -> None:
        now = timezone.now()
        try:
            close_old_connections()
            BeatHeartbeat.objects.update_or_create(
                instance=self._instance,
                defaults={"last_tick_at": now, "leading": self._leading},
                create_defaults={
                    "started_at": self._started_at,
                    "last_tick_at": now,
                    "leading": self._leading,
                },
            )
            if self._last_heartbeat == 0.0:
                BeatHeartbeat.objects.filter(last_tick_at__lt=now - HEARTBEAT_KEEP).delete()
        except (
            DatabaseError,
            InterfaceError,
        ) as exc:  # the schedule logs and retries; beat goes on
            logger.warning("beat heartbeat not written: %r", exc)
            return
        self._last_heartbeat = time.monotonic()
