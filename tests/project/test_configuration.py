"""Settings are typed and validated at start: a bad value is one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from project.env import ConfigurationError, load_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_environ(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("CELERY_", "EMAIL_", "DJANGO_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_serve_the_embedded_run(clean_environ):
    clean_environ.setenv("DJANGO_DEBUG", "true")  # as `make run` asks
    env = load_env()
    assert env.database()["ENGINE"] == "django.db.backends.sqlite3"
    assert env.celery.broker_url == "filesystem://localhost//"
    assert env.celery.result_backend == "django-db"
    assert (env.celery.task_default_queue, env.celery.task_default_retry_delay) == ("default", 60)
    assert (env.celery.task_max_retries, env.celery.worker_concurrency) == (3, 4)


def test_production_services_come_from_the_environment(clean_environ):
    clean_environ.setenv("DATABASE_URL", "postgres://app:pw@db.internal:5433/tasks")
    clean_environ.setenv("CELERY_BROKER_URL", "redis://cache.internal:6379/1")
    clean_environ.setenv("CELERY_WORKER_CONCURRENCY", "8")
    clean_environ.setenv("CACHE_URL", "redis://cache.internal:6379/3")
    clean_environ.setenv("DJANGO_DEBUG", "false")
    clean_environ.setenv("DJANGO_SECRET_KEY", "s3cret-" * 8)
    env = load_env()
    database = env.database()
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5433, "tasks")
    assert database["ENGINE"] == "project.postgres"  # Django's, with records sent with the COMMIT
    assert env.celery.broker_url == "redis://cache.internal:6379/1"
    assert env.celery.worker_concurrency == 8
    assert env.secret_key == "s3cret-" * 8


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "CELERY_WORKER_CONCURRENCY",
            "abc",
            "CELERY_WORKER_CONCURRENCY: Input should be a valid integer",
        ),
        ("CELERY_TASK_MAX_RETRIES", "-1", "CELERY_TASK_MAX_RETRIES: Input should be greater than"),
        ("DATABASE_URL", "postgres//nope", "DATABASE_URL: is not a database URL"),
        ("CELERY_BROKER_URL", "kafka://x", "CELERY_BROKER_URL: must be a filesystem://"),
        ("EMAIL_PORT", "99999", "EMAIL_PORT: Input should be less than or equal to 65535"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG: Input should be a valid boolean"),
    ],
)
def test_a_bad_value_names_its_variable(clean_environ, variable, value, message):
    clean_environ.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message.replace("/", "/")):
        load_env()


def test_secrets_are_not_echoed_in_errors(clean_environ):
    clean_environ.setenv("DATABASE_URL", "postgres//user:hunter2@db/x")
    with pytest.raises(ConfigurationError) as error:
        load_env()
    assert "hunter2" not in str(error.value)


def test_missing_secret_key_is_an_error_without_debug(clean_environ):
    clean_environ.setenv("DJANGO_DEBUG", "false")
    with pytest.raises(ConfigurationError, match="DJANGO_SECRET_KEY must be set"):
        load_env()


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        [sys.executable, "-m", "celery", "-A", "project", "worker"],
        [sys.executable, "-m", "celery", "-A", "project", "beat"],
    ],
    ids=["manage.py", "worker", "beat"],
)
def test_every_process_stops_at_start_with_one_clear_line(command):
    env = {
        **os.environ,
        "CELERY_WORKER_CONCURRENCY": "abc",
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "configuration error: CELERY_WORKER_CONCURRENCY: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')"
    ]
