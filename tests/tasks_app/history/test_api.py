"""`GET /api/tasks/{id}/`: one history row, for admins only."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone
from django_celery_results.models import TaskResult
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_non_admins_are_refused(plain_user):
    client = APIClient()
    assert client.get("/api/tasks/some-task-id/").status_code in (401, 403)
    client.force_authenticate(plain_user)
    assert client.get("/api/tasks/some-task-id/").status_code == 403


def test_task_detail_returns_the_history_row_with_stalled_status(admin_api):
    TaskResult.objects.create(
        task_id="t-1",
        task_name="tasks_app.cleanup_sessions",
        task_args=json.dumps("()"),
        task_kwargs=json.dumps("{'user_id': 'u-1'}"),
        status="STARTED",
        worker="w1@host",
        periodic_task_name="cleanup-expired-sessions",
        date_started=timezone.now() - datetime.timedelta(hours=2),
    )

    response = admin_api.get("/api/tasks/t-1/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "STALLED"  # its time limit (900 s) passed long ago
    assert body["args"] == [] and body["kwargs"] == {"user_id": "u-1"}
    assert body["worker"] == "w1@host"
    assert body["periodic_task_name"] == "cleanup-expired-sessions"
    assert admin_api.get("/api/tasks/missing/").status_code == 404


def test_a_refused_action_is_a_409_with_the_error_body_of_every_endpoint(super_admin):
    TaskResult.objects.create(
        task_id="t-2", task_name="tasks_app.cleanup_sessions", status="SUCCESS"
    )
    api = APIClient()
    api.force_authenticate(super_admin)  # may change the history

    retry = api.post("/api/tasks/t-2/retry/")
    cancel = api.post("/api/tasks/t-2/cancel/")

    assert (retry.status_code, cancel.status_code) == (409, 409)
    assert retry.json() == {
        "message": "Task t-2 is SUCCESS; only a failed task can be retried.",
        "errors": {},
    }
    assert "only a task that has not started can be cancelled" in cancel.json()["message"]


def test_a_misspelt_filter_of_the_list_is_a_400_naming_it_not_the_whole_history(admin_api):
    for task_id in ("e-1", "e-2"):
        TaskResult.objects.create(task_id=task_id, task_name="tasks_app.send_email")
    TaskResult.objects.create(task_id="r-1", task_name="tasks_app.generate_user_report")

    response = admin_api.get("/api/tasks/", {"task": "tasks_app.send_email", "page_size": 1})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"task"}
    assert "task_name" in response.json()["errors"]["task"][0]  # what it does take
    first = admin_api.get("/api/tasks/", {"task_name": "tasks_app.send_email", "page_size": 1})
    second = admin_api.get(first.json()["next"])  # its cursor and page size are the list's own
    pages = [page.json()["results"] for page in (first, second)]
    assert sorted(task["task_id"] for page in pages for task in page) == ["e-1", "e-2"]
