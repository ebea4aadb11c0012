"""The duration rule, shared by the history admin's column and `GET /api/tasks/{id}/`."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.selectors.task_results import task_result_duration

STARTED_AT = timezone.now() - datetime.timedelta(seconds=90)
DONE_AT = STARTED_AT + datetime.timedelta(seconds=2.5)


@pytest.mark.parametrize(
    ("status", "date_started", "expected"),
    [
        ("SUCCESS", STARTED_AT, datetime.timedelta(seconds=2.5)),
        ("FAILURE", STARTED_AT, datetime.timedelta(seconds=2.5)),
        ("REVOKED", STARTED_AT, datetime.timedelta(seconds=2.5)),
        ("STARTED", STARTED_AT, None),  # still running: date_done is only the last update
        ("RETRY", STARTED_AT, None),
        ("SUCCESS", None, None),  # the start was never recorded
    ],
)
def test_duration_is_start_to_end_of_a_finished_run_only(status, date_started, expected):
    result = TaskResult(status=status, date_started=date_started, date_done=DONE_AT)

    assert task_result_duration(result) == expected


@pytest.mark.django_db
def test_the_api_and_the_history_admin_show_the_same_duration(client, super_admin):
    TaskResult.objects.create(
        task_id="t-timed", task_name="tasks_app.ping", status="SUCCESS", date_started=STARTED_AT
    )
    TaskResult.objects.filter(task_id="t-timed").update(date_done=DONE_AT)
    client.force_login(super_admin)

    body = client.get("/api/tasks/t-timed/").json()
    page = client.get("/admin/django_celery_results/taskresult/").content.decode()

    assert body["duration_seconds"] == 2.5
    assert '<td class="field-duration">0:00:02.500000</td>' in page
