"""Fixtures shared by every test: real worker processes and named personas; and the hooks that
stop whatever process a test left running (tests/support/processes.py)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from project.celery import app as celery_app
from tests.support import processes
from tests.support.beat import CeleryBeat
from tests.support.polling import wait_for
from tests.support.worker import CeleryWorker

if TYPE_CHECKING:
    from accounts.models import User


def pytest_configure(config: pytest.Config) -> None:
    # A run stopped with SIGTERM (CI's timeout, `kill`) unwinds like Ctrl-C: fixtures tear down
    # and pytest_sessionfinish runs, instead of the interpreter dying with the workers running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start on an empty embedded broker: messages for queues and workers of earlier runs (a
    worker's control queue, Flower's events) would otherwise pile up run after run, and be taken
    by this run's workers."""
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in ("data_folder_in", "control_folder", "processed_folder"):
        for file in Path(options[key]).iterdir():
            file.unlink()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the processes that a failed or interrupted test did not stop."""
    if leftovers := processes.stop_all():
        print(f"\nstopped process groups the tests left running: {leftovers}", file=sys.stderr)


@pytest.fixture(scope="session", autouse=True)
def _publish_marks_stopped(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The publish marks' thread (tasks_app.ledger.published) ends, closing its connection,
    before the test database is dropped."""
    from tasks_app.ledger.published import stop_published_marks

    yield
    with django_db_blocker.unblock():
        stop_published_marks()


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


@pytest.fixture
def beat(celery_worker) -> Iterator[CeleryBeat]:
    """A real beat process (the project's database scheduler), up once it has ticked and sent
    what fell due while no beat ran (no schedule shows a missed run)."""
    from tasks_app.models import BeatHeartbeat
    from tasks_app.selectors.schedules import schedules_missed

    process = CeleryBeat().start()
    try:
        wait_for(
            lambda: BeatHeartbeat.objects.exists() or process.process.poll() is not None,
            timeout=30,
            what="beat's first heartbeat",
        )
        assert process.process.poll() is None, process.log()[-3000:]
        wait_for(lambda: not schedules_missed(), timeout=15, what="beat's first runs")
        yield process
    finally:
        process.stop()


# --- Personas (tests/factories.py): who a test acts as, named as the permission tests read. ---
# The factories import models, so they are imported when a fixture runs: this module is also loaded
# as a plugin before Django is set up (tests/project/test_suite_processes.py).


@pytest.fixture
def plain_user(db) -> User:
    """A USER: no admin rights."""
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def admin(db) -> User:
    """An ADMIN: the admin site and the admin APIs."""
    from tests.factories import AdminFactory

    return AdminFactory()


@pytest.fixture
def super_admin(db) -> User:
    """A SUPER_ADMIN: every page and action."""
    from tests.factories import SuperAdminFactory

    return SuperAdminFactory()


@pytest.fixture
def outsider() -> APIClient:
    """Someone without an account: an anonymous client."""
    return APIClient()


@pytest.fixture
def admin_api(admin) -> APIClient:
    """An API client authenticated as `admin` (no token: what is under test is the endpoint)."""
    client = APIClient()
    client.force_authenticate(admin)
    return client
