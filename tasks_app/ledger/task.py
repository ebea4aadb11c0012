"""Celery's hooks into the ledger on the worker: the base task class and the receipt stamp."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from celery import Task
from celery.exceptions import Ignore
from celery.signals import task_received
from django.db import InterfaceError, OperationalError

from tasks_app.ledger.attempts import attempt_finish, attempt_start, ready_at_from
from tasks_app.ledger.redeliveries import redeliveries_check

RECEIVED_AT = "ledger_received_at"
# A database that cannot be reached (restarted, failed over): the attempt is retried, with
# back-off from 2 s to a minute, about 5 minutes in all, instead of failing where nothing can
# record it (the failure would be lost with the message).
DATABASE_GONE = (OperationalError, InterfaceError)
DATABASE_RETRIES = 10


class LedgerTask(Task):
    """Every task of the app (settings: the Celery app's `task_cls`): each attempt is recorded
    as it starts, a task cancelled in the ledger is not run, nor one that killed its worker too
    often (a poison message: it fails instead)."""

    def before_start(self, task_id, args, kwargs) -> None:
        request = self.request
        if request.called_directly or request.is_eager:
            return
        received = getattr(request, RECEIVED_AT, None)
        try:
            attempt = attempt_start(
                task_id=task_id,
                task_name=self.name,
                worker=request.hostname or "",
                ready_at=ready_at_from(request),
                received_at=datetime.fromtimestamp(received, UTC) if received else None,
                call=(list(args), dict(kwargs)),
                schedule=getattr(request, "periodic_task_name", None),
            )
        except DATABASE_GONE as exc:
            raise self._retry_later(exc) from exc
        if attempt is None:
            raise Ignore(f"task {task_id} was cancelled")
        request.ledger_attempt = attempt
        redeliveries_check(attempt=attempt)

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except DATABASE_GONE as exc:
            if self.request.called_directly or self.request.is_eager:
                raise
            raise self._retry_later(exc) from exc

    def _retry_later(self, exc: Exception) -> Exception:
        """The database went away: publish the task again (to the broker, which needs no
        database) for a later attempt; its idempotent body makes a repeat harmless."""
        countdown = min(60, 2 ** (self.request.retries + 1))
        return self.retry(exc=exc, countdown=countdown, max_retries=DATABASE_RETRIES)

    def after_return(self, status, retval, task_id, args, kwargs, einfo) -> None:
        """A task whose result is ignored never reaches the result backend: its outcome is
        recorded here instead, without its return value."""
        request = self.request
        if request.called_directly or request.is_eager:
            return
        if not (self.ignore_result or getattr(request, "ignore_result", False)):
            return  # LedgerBackend stored it
        attempt_finish(
            task_id=task_id,
            attempt=getattr(request, "ledger_attempt", None),
            status=status,
            fields={
                "result": None,
                "content_type": "application/json",
                "content_encoding": "utf-8",
                "traceback": str(einfo) if einfo else None,
            },
        )


@task_received.connect
def _stamp_received(sender=None, request=None, **kwargs) -> None:
    """In the worker's main process, when the message arrives: the child process reads the
    stamp from its request (the request dict travels to the pool with the message)."""
    request.request_dict[RECEIVED_AT] = time.time()
