"""The Celery app carries the seed's configuration plus what the design card adds."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string
from django_celery_beat.schedulers import DatabaseScheduler
from django_celery_results.backends.database import DatabaseBackend

from project.celery import app
from tasks_app.ledger.task import LedgerTask


def test_json_only_in_utc():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.timezone == "UTC" and app.conf.enable_utc is True


def test_seed_worker_and_result_settings():
    assert app.conf.result_expires is None  # history is kept by TASK_HISTORY_RETENTION
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.worker_concurrency == settings.CELERY_WORKER_CONCURRENCY
    assert app.conf.task_default_queue == "default"
    # django-celery-results' backend, writing through the ledger (tasks_app.ledger.backend).
    backend = import_string(app.conf.result_backend.replace(":", "."))
    assert issubclass(backend, DatabaseBackend)
    assert isinstance(app.backend, backend)


def test_history_and_database_schedules():
    # django-celery-beat's DatabaseScheduler, plus a heartbeat for the health check.
    assert app.conf.beat_scheduler == "tasks_app.scheduler:DatabaseScheduler"
    assert issubclass(import_string("tasks_app.scheduler.DatabaseScheduler"), DatabaseScheduler)
    assert app.conf.result_extended is True
    # Each attempt's start is recorded by every task's base class instead (tasks_app.ledger.task).
    assert app.conf.task_track_started is False
    app.loader.import_default_modules()
    assert isinstance(app.tasks["tasks_app.ping"], LedgerTask)


def test_project_tasks_have_explicit_stable_names():
    app.loader.import_default_modules()
    ours = {name for name, task in app.tasks.items() if task.__module__.startswith("tasks_app.")}
    assert "tasks_app.ping" in ours
    assert all(name.startswith("tasks_app.") for name in ours), ours


def test_every_celery_setting_of_django_reaches_celery():
    names = [name for name in dir(settings) if name.startswith("CELERY_")]
    assert len(names) > 20
    for name in names:
        assert app.conf[name.removeprefix("CELERY_").lower()] == getattr(settings, name), name
    assert app.conf.worker_hijack_root_logger is False  # project/celery.py's own
