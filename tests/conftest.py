"""Fixtures shared by every test: real worker processes and named personas."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from project.celery import app as celery_app
from tests.support.worker import CeleryWorker


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[CeleryWorker]:
    """One worker for the whole session; tests that use it need `django_db(transaction=True)`
    so that what they write is committed and visible to the worker."""
    with django_db_blocker.unblock():
        celery_app.control.purge()
        worker = CeleryWorker().start()
    yield worker
    worker.stop()


@pytest.fixture
def start_worker(django_db_setup) -> Iterator[Callable[..., CeleryWorker]]:
    """Start extra workers (to kill, or with other settings); each is stopped after the test."""
    workers: list[CeleryWorker] = []

    def start(**options) -> CeleryWorker:
        worker = CeleryWorker(**options)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


def pytest_sessionfinish(session, exitstatus):
    """In CI every test must run: a skipped test (a service that was not up) fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} skipped; every test must run in CI", red=True)
        session.exitstatus = 1
