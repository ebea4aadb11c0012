""" "Run now" (admin action and API) publishes what beat would: queue, expiry, priority, headers."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from tests.support.broker import drop_queue, queued_messages
from tests.support.polling import wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # publication happens on commit


@pytest.fixture
def routed_cleanup():
    """The cleanup schedule, sent to a queue of its own that no worker consumes."""
    queue = f"runnow-{uuid.uuid4().hex[:8]}"
    task = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    task.queue = queue
    task.priority = 7
    task.expire_seconds = 120
    task.headers = json.dumps({"origin": "ops"})
    task.save()
    yield task
    drop_queue(queue)


def _assert_published_like_beat(message: dict, task: PeriodicTask) -> None:
    headers = message["headers"]
    assert headers["task"] == "tasks_app.cleanup_sessions"
    assert headers["periodic_task_name"] == "cleanup-expired-sessions"
    assert headers["origin"] == "ops"
    assert headers["expires"] is not None  # 120 s from sending, as an ISO date
    assert message["properties"]["priority"] == 7
    assert message["properties"]["delivery_info"]["routing_key"] == task.queue


def test_admin_run_now_honours_queue_priority_expiry_and_headers(
    client, superadmin, routed_cleanup
):
    client.force_login(superadmin)

    response = client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": "run_tasks", "_selected_action": [routed_cleanup.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 task sent" in response.content.decode()
    messages = wait_for(
        lambda: queued_messages(routed_cleanup.queue), timeout=10, what="the message"
    )
    assert len(messages) == 1
    _assert_published_like_beat(messages[0], routed_cleanup)


def test_api_run_now_publishes_the_same(admin, routed_cleanup):
    api = APIClient()
    api.force_authenticate(admin)

    response = api.post(f"/api/schedules/{routed_cleanup.pk}/run/")

    assert response.status_code == 202
    messages = wait_for(
        lambda: queued_messages(routed_cleanup.queue), timeout=10, what="the message"
    )
    assert messages[0]["headers"]["id"] == response.json()["task_id"]
    _assert_published_like_beat(messages[0], routed_cleanup)
