"""Fixtures for the email pipeline: an SMTP server and a worker that sends through it.

The worker listens on an email queue of its own (the route of the email tasks, in its environment
and in the test's settings), so the session's `celery_worker`, which writes mail to files, never
takes an email meant for the SMTP server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.smtp import SmtpServer
from tests.support.worker import QUEUE_VARIABLES, CeleryWorker, private_queue


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def email_queue_name() -> str:
    return f"emails-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def email_worker(
    django_db_setup, django_db_blocker, smtp, email_queue_name
) -> Iterator[CeleryWorker]:
    """One worker for the module, sending through `smtp`, retrying after about a second."""
    with django_db_blocker.unblock():
        worker = CeleryWorker(
            queues=email_queue_name,
            **smtp.worker_env(
                **{QUEUE_VARIABLES["emails"]: email_queue_name},
                CELERY_TASK_DEFAULT_RETRY_DELAY="1",
            ),
        ).start()
    yield worker
    worker.stop()


@pytest.fixture
def to_email_worker(settings, email_queue_name) -> str:
    """Email tasks enqueued by this test go to the email worker's queue."""
    private_queue(settings, "emails", email_queue_name)
    return email_queue_name
