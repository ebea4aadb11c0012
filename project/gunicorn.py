"""gunicorn's settings (`gunicorn project.wsgi:application --config python:project.gunicorn`).

Its start-up, error and access lines go through the project's one logging config
(project/logging.py), so LOG_FORMAT=json gives JSON from gunicorn as from Django and Celery.
https://docs.gunicorn.org/en/stable/settings.html#logconfig-dict
"""

from __future__ import annotations

import os

from project.settings import LOGGING

# Where to listen: all interfaces of the container, port 8000 (compose publishes it); a test or
# a second instance on one machine gives another address.
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 60

# gunicorn's loggers otherwise write to their own handlers in their own format; here they hand
# their records to the root logger's handler.
logconfig_dict = {
    **LOGGING,
    "loggers": {
        **LOGGING["loggers"],
        "gunicorn.error": {"handlers": [], "propagate": True, "level": LOGGING["root"]["level"]},
        "gunicorn.access": {"handlers": [], "propagate": True, "level": "INFO"},
    },
}
