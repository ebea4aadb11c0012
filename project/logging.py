"""One logging configuration for web, worker and beat (Django's LOGGING; Celery's `setup_logging`
hook in project/celery.py applies the same dict instead of Celery's own).

`LOG_FORMAT=json` writes one JSON object a line; a line logged inside a task carries the task's
id and name.
https://docs.celeryq.dev/en/stable/userguide/signals.html#setup-logging
"""

from __future__ import annotations

import logging
from typing import Any

from celery._state import get_current_task

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"


class TaskContextFilter(logging.Filter):
    """Adds `task_id` and `task_name` to a record logged while a task runs (nothing otherwise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        task = get_current_task()
        if task is not None and task.request.id:
            record.task_id = task.request.id
            record.task_name = task.name
        return True


class TextFormatter(logging.Formatter):
    """The plain format, with ` [task_name task_id]` after a line logged inside a task."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if getattr(record, "task_id", None):
            return f"{line} [{record.task_name} {record.task_id}]"
        return line


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING dict: everything to stderr through the root logger, at `level`."""
    formatters = {
        "text": {"()": TextFormatter, "format": TEXT_FORMAT},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"task": {"()": TaskContextFilter}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["task"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own loggers propagate to the root, so their lines share its format.
        "loggers": {"django": {"handlers": [], "propagate": True, "level": level}},
    }
