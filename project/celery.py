"""The Celery app: `celery -A project worker|beat|flower`.

Configuration comes from Django settings (the `CELERY_*` names in project/settings.py); tasks are
discovered from each app's `tasks` module or package.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
