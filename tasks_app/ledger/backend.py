"""The result backend: django-celery-results' `DatabaseBackend`, writing through the ledger.

The stock backend reads the row, then saves every column, in a transaction that waits for the
disk: three statements and a synchronous commit per state. The task's row already exists (the
port wrote it at enqueue), so the outcome is one UPDATE of the columns that change, committed
with the attempt's end in one asynchronous transaction (tasks_app.ledger.attempts). A task sent
outside the port has no row yet: the stock path creates it.

settings: CELERY_RESULT_BACKEND = "tasks_app.ledger.backend:LedgerBackend"
"""

from __future__ import annotations

import django
from django.apps import apps

if not apps.ready and not apps.loading:
    # A Celery command other than worker and beat (`celery call`) loads the backend to send a
    # task, before anything set Django up; the backend's models need it.
    django.setup()

import logging

from celery import states
from django.db import InterfaceError, OperationalError
from django_celery_results.backends.database import DatabaseBackend

from tasks_app.ledger.attempts import attempt_finish

logger = logging.getLogger(__name__)


class LedgerBackend(DatabaseBackend):
    def _store_result(self, task_id, result, status, traceback=None, request=None, using=None):
        if status == states.STARTED:  # recorded by LedgerTask.before_start instead
            return result
        content_type, content_encoding, encoded = self.encode_content(result)
        fields = {
            "result": encoded,
            "content_type": content_type,
            "content_encoding": content_encoding,
            "traceback": traceback,
        }
        if request is not None and getattr(request, "hostname", None):
            fields["worker"] = request.hostname
        try:
            stored = attempt_finish(
                task_id=task_id,
                attempt=getattr(request, "ledger_attempt", None),
                status=status,
                fields=fields,
            )
        except (OperationalError, InterfaceError):
            if status != states.RETRY:
                raise
            # The database is down (LedgerTask retries for that): the retry is already queued
            # and its attempt records what happens; failing here would record a FAILURE.
            logger.warning("task %s: retry not recorded, the database is unreachable", task_id)
            return encoded
        if not stored:
            return super()._store_result(task_id, result, status, traceback, request, using)
        return encoded
