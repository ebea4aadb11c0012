"""The Celery app: `celery -A project worker|beat|flower`.

Configuration comes from Django settings (the `CELERY_*` names in project/settings.py); tasks are
discovered from each app's `tasks` module or package.
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# Every task records its attempts in the ledger and honours a cancel (tasks_app.ledger.task).
app = Celery("project", task_cls="tasks_app.ledger.task:LedgerTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
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
