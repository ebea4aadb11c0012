"""Test settings: the project's settings with local state in var/test/ instead of var/.

Worker subprocesses started by the tests use this module too, so that they share the test database,
broker folder and mail folder with the test process.
"""

import os
from pathlib import Path

os.environ.setdefault("VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
# Debug is off unless asked for; the tests (and their workers) run as `make run` does, over plain
# HTTP with the development key. pytest-django still runs each test with DEBUG = False.
os.environ.setdefault("DJANGO_DEBUG", "true")

from project.settings import *  # noqa: F403
from project.settings import STORAGES as PROJECT_STORAGES

# Hashing cost is not under test; a fast hasher keeps user factories cheap.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Pages render without a collectstatic run; production serves hashed names from the manifest.
STORAGES = {
    **PROJECT_STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Task modules that exist only for a test (tests/faults/fault_tasks.py), loaded by the workers it
# starts with TEST_WORKER_IMPORTS; the other processes never know those tasks.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#imports
CELERY_IMPORTS = [name for name in os.environ.get("TEST_WORKER_IMPORTS", "").split(",") if name]

# Every call to /api/health/ runs the checks (a cached report would leak between tests).
HEALTH_CACHE_SECONDS = 0
