"""Scenario 7: bad input to a task: wrong arguments from `celery call`, a schedule whose
arguments were edited by hand, a message for a task no worker knows. Each is a failure in the
history with a reason a person can read; the worker serves the next task."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tests.faults import lost_work
from tests.faults.lost_work import on_production_services
from tests.support.polling import wait_for
from tests.support.worker import BASE_DIR, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), on_production_services]

fault_worker = lost_work.fault_worker


def failed(task_id: str) -> TaskResult:
    return wait_for(
        lambda: TaskResult.objects.filter(task_id=task_id, status="FAILURE").first(),
        what=f"task {task_id} to fail",
    )


def serves(queue: str) -> None:
    """The worker takes the next task on its queue and runs it."""
    ping = celery_app.send_task("tasks_app.ping", queue=queue).id
    wait_for(lambda: TaskResult.objects.filter(task_id=ping, status="SUCCESS").exists())


def test_bad_input_is_a_readable_failure_in_the_history_and_the_worker_goes_on(
    fault_worker, admin_api
):
    queue = f"bad-input-{uuid.uuid4().hex[:8]}"
    fault_worker(queues=queue, concurrency=1)

    # `celery call` with an argument the task does not take.
    called = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "project", "call", "tasks_app.send_email",
         "--kwargs", '{"email_log_id": 1, "to": "someone@example.com"}', "--queue", queue],
        cwd=BASE_DIR, env=worker_env(), capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    # A schedule whose arguments were edited by hand (the admin checks that they are JSON only).
    schedule = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    schedule.kwargs = json.dumps({"older_than_days": 30})
    schedule.queue = queue
    schedule.save()
    scheduled = admin_api.post(f"/api/schedules/{schedule.pk}/run/").json()["task_id"]
    # A task no worker knows (a typo, or a message from a newer release).
    unknown = celery_app.send_task("tasks_app.no_such_task", kwargs={"x": 1}, queue=queue).id

    reasons = {}
    for label, task_id in (("call", called), ("schedule", scheduled), ("unknown", unknown)):
        result = json.loads(failed(task_id).result)
        reasons[label] = f"{result['exc_type']}: {result['exc_message']}"
        serves(queue)
    print("\n" + "\n".join(f"{label}: {reason}" for label, reason in reasons.items()))

    assert "TypeError" in reasons["call"] and "'to'" in reasons["call"]
    assert "TypeError" in reasons["schedule"] and "older_than_days" in reasons["schedule"]
    assert "NotRegistered" in reasons["unknown"] and "tasks_app.no_such_task" in reasons["unknown"]
    listed = admin_api.get("/api/tasks/?status=FAILURE").json()["results"]
    assert {called, scheduled, unknown} <= {t["task_id"] for t in listed}
    out = StringIO()
    call_command("tasks", "list", "--status", "FAILURE", stdout=out)
    assert all(task_id in out.getvalue() for task_id in (called, scheduled, unknown))
