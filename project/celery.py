"""The Celery app: `celery -A project worker|beat|flower`.

Configuration comes from Django settings (the `CELERY_*` names in project/settings.py); tasks are
discovered from each app's `tasks` module or package.
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

from project import redis_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
redis_broker.install()

# Every task records its attempts in the ledger and honours a cancel (tasks_app.ledger.task).
app = Celery("project", task_cls="tasks_app.ledger.task:LedgerTask")


@app.on_configure.connect
def _django_settings(sender: Celery, **kwargs: Any) -> None:
    """Celery's settings are Django's `CELERY_*` names, handed over as a dict when Celery first
    reads them. (Given `django.conf:settings` itself, Celery looks each name up on the settings
    object, and every name Django does not define costs about 10 µs of failed attribute lookups:
    Celery reads several per task sent and per task run.)"""
    from django.conf import settings

    sender.config_from_object(
        {name: getattr(settings, name) for name in dir(settings) if name.startswith("CELERY_")},
        namespace="CELERY",
    )


# Workers and beat log through Django's LOGGING (LOG_FORMAT, LOG_LEVEL) like the web process,
# instead of Celery replacing the root logger's handlers with its own format.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-hijack-root-logger
app.conf.worker_hijack_root_logger = False
app.autodiscover_tasks()


@setup_logging.connect
def _django_logging(**kwargs: Any) -> None:
    """Connected, this hook replaces Celery's logging setup (and its --loglevel) entirely."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **kwargs: Any) -> None:
    """What Django does around each request: close a connection past CONN_MAX_AGE or broken by
    an error, keep the others (settings.CELERY_DB_REUSE_MAX stops Celery closing them all).
    Not for a task run in the caller's process (eager), whose transaction is the caller's."""
    from django.db import close_old_connections

    if task is not None and not task.request.is_eager:
        close_old_connections()
