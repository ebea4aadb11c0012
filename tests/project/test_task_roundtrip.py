"""The first real task path: a task goes through the broker to a worker process and its result
lands in django-celery-results' TaskResult table."""

from __future__ import annotations

import pytest
from django_celery_results.models import TaskResult

from tasks_app.tasks import ping
from tests.support.polling import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_task_result_is_stored_in_the_orm_with_extended_fields(celery_worker):
    async_result = ping.delay()

    row = wait_for(
        lambda: TaskResult.objects.filter(task_id=async_result.id, status="SUCCESS").first(),
        what="the ping result in TaskResult",
    )

    assert row.task_name == "tasks_app.ping"
    assert row.worker == celery_worker.hostname
    assert row.date_started is not None and row.date_done >= row.date_started
    assert row.content_type == "application/json"
    assert async_result.get(timeout=10) == {"status": "pong", "worker": celery_worker.hostname}
