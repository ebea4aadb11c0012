"""The task ledger with a real worker: a task is in the history from its enqueue, with what
triggered it; each attempt is recorded; cancel stops a task that has not started; retry does the
work again; the list answers with filters in a constant number of queries."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from datetime import timedelta

import pytest
from celery import states
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult

from tasks_app.ledger.published import flush_published_marks
from tasks_app.ledger.trigger import task_trigger
from tasks_app.models import TaskAttempt, TaskRecord, Trigger
from tasks_app.queue import get_task_queue
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.selectors.ledger import task_get
from tasks_app.services.task_actions import TaskActionRefused, task_cancel, task_retry
from tests.support.polling import wait_for
from tests.support.worker import private_queue

pytestmark = pytest.mark.django_db(transaction=True)


def finished(task_id: str, status: str = states.SUCCESS, timeout: float = 30) -> TaskResult:
    return wait_for(
        lambda: TaskResult.objects.filter(task_id=task_id, status=status).first(),
        timeout=timeout,
        what=f"task {task_id} to be {status}",
    )


def test_a_task_queued_through_the_api_is_in_the_history_at_once_with_its_user(admin_api, admin):
    schedule = admin_api.get("/api/schedules/").json()[0]

    run = admin_api.post(f"/api/schedules/{schedule['id']}/run/")
    task_id = run.json()["task_id"]
    body = admin_api.get(f"/api/tasks/{task_id}/").json()

    assert body["task_name"] == schedule["task"]
    assert body["status"] in ("QUEUED", "STARTED", "SUCCESS")  # a worker may already run it
    assert (body["trigger"], body["triggered_by"]) == ("api", admin.username)
    assert body["trigger_label"] == f"run now: {schedule['name']}"
    assert body["schedule"] == schedule["name"] and body["queue"]
    # The publish is marked a moment later, off the request's path.
    wait_for(
        lambda: TaskRecord.objects.filter(pk=task_id, published_at__isnull=False).exists(),
        timeout=5,
        what="the publish mark",
    )


def test_a_queued_task_answers_queued_and_lists_under_its_filters(admin_api):
    with task_trigger(Trigger.COMMAND, label="tasks test"):
        task_id = get_task_queue().enqueue("tasks_app.ping", countdown=60)

    body = admin_api.get(f"/api/tasks/{task_id}/").json()  # from its record, at once
    flush_published_marks()  # the list reads result rows, written with the publish mark
    listed = admin_api.get("/api/tasks/", {"status": "SCHEDULED", "trigger": "command"}).json()

    assert body["status"] == "SCHEDULED" and body["attempts"] == []
    assert [t["task_id"] for t in listed["results"]] == [task_id]
    assert admin_api.get("/api/tasks/", {"status": "nonsense"}).status_code == 400
    task_cancel(result=task_get(task_id))  # not left for other tests


def test_each_attempt_is_recorded_by_the_worker(celery_worker):
    with transaction.atomic():
        task_id = get_task_queue().enqueue("tasks_app.ping")

    result = finished(task_id)
    [attempt] = TaskAttempt.objects.filter(task_id=task_id)

    assert (attempt.number, attempt.outcome, attempt.worker) == (
        1,
        "success",
        celery_worker.hostname,
    )
    assert attempt.received_at <= attempt.started_at <= attempt.finished_at <= result.date_done
    assert attempt.wait_seconds >= 0 and attempt.runtime_seconds >= 0
    assert result.worker == celery_worker.hostname and result.date_started is not None


def test_a_cancelled_task_never_runs_and_records_who_cancelled_it(celery_worker, admin):
    task_id = get_task_queue().enqueue("tasks_app.ping", countdown=2)
    done = task_cancel(result=task_get(task_id), by=admin)
    marker = get_task_queue().enqueue("tasks_app.ping", countdown=3)  # runs after the eta

    finished(marker)
    result = TaskResult.objects.get(task_id=task_id)
    record = TaskRecord.objects.get(pk=task_id)
    assert "cancelled" in done.message
    assert result.status == states.REVOKED and record.cancelled_by == admin
    assert not TaskAttempt.objects.filter(task_id=task_id).exists()
    with pytest.raises(TaskActionRefused, match="only a task that has not started"):
        task_cancel(result=result)


def test_cancelling_a_task_that_started_since_it_was_read_says_what_it_is_now():
    task_id = get_task_queue().enqueue("tasks_app.ping", queue=f"nobody-{uuid.uuid4().hex[:8]}")
    flush_published_marks()
    TaskResult.objects.filter(task_id=task_id).delete()
    read = task_get(task_id)  # as read within its publish mark's 0.2 s: unsaved, from its record
    TaskResult.objects.create(task_id=task_id, task_name="tasks_app.ping", status=states.SUCCESS)

    assert read.pk is None
    with pytest.raises(TaskActionRefused, match=f"Task {task_id} is SUCCESS; only a task"):
        task_cancel(result=read)
    assert TaskResult.objects.get(task_id=task_id).status == states.SUCCESS


def test_retrying_a_failed_housekeeping_task_runs_it_again(celery_worker, admin):
    failed = TaskResult.objects.create(
        task_id="failed-ping", task_name="tasks_app.ping", task_args="[]", status=states.FAILURE
    )

    done = task_retry(result=failed, by=admin)

    retried = finished(done.task_id)
    record = TaskRecord.objects.get(pk=done.task_id)
    assert retried.task_name == "tasks_app.ping"
    assert (record.trigger, record.triggered_by, record.trigger_label) == (
        "retry",
        admin,
        "retry of failed-ping",
    )
    with pytest.raises(TaskActionRefused, match="only a failed task can be retried"):
        task_retry(result=retried)


def test_the_tasks_command_lists_shows_and_refuses_with_reasons(celery_worker):
    with transaction.atomic():
        task_id = get_task_queue().enqueue("tasks_app.ping")
    finished(task_id)
    out = io.StringIO()

    call_command(
        "tasks", "list", "--task-name", "tasks_app.ping", "--status", "SUCCESS", stdout=out
    )
    call_command("tasks", "show", task_id, stdout=out)

    assert task_id in out.getvalue() and "attempt 1: success" in out.getvalue()
    with pytest.raises(CommandError, match="only a failed task can be retried"):
        call_command("tasks", "retry", task_id)
    with pytest.raises(CommandError, match="No task"):
        call_command("tasks", "cancel", "missing")
    with pytest.raises(CommandError, match="status"):
        call_command("tasks", "list", "--status", "nonsense")


def test_the_list_is_a_constant_number_of_queries(admin_api, django_assert_max_num_queries):
    old = timezone.now() - timedelta(days=1)
    for _ in range(30):
        get_task_queue().enqueue("tasks_app.ping", countdown=300)
    flush_published_marks()
    TaskResult.objects.update(date_created=old)

    with django_assert_max_num_queries(4):  # session, user, permissions check, the page
        page = admin_api.get("/api/tasks/", {"page_size": 25})

    assert len(page.json()["results"]) == 25 and page.json()["next"]
    for result in TaskResult.objects.all():
        task_cancel(result=result)


def test_retrying_a_failed_report_task_generates_the_same_report_again(admin, settings):
    from tasks_app.models import UserReport

    private_queue(settings, "reports", f"nobody-{uuid.uuid4().hex[:8]}")  # cancelled before a run
    report = UserReport.objects.create(
        requested_by=admin, status="failed", filters={"role": "ADMIN"}
    )
    failed = TaskResult.objects.create(
        task_id="failed-report",
        task_name="tasks_app.generate_user_report",
        task_args="[]",
        task_kwargs=json.dumps({"report_id": str(report.pk)}),
        status=states.FAILURE,
    )

    done = task_retry(result=failed, by=admin)

    report.refresh_from_db()
    assert (report.status, report.task_id, report.filters) == (
        "pending",
        done.task_id,
        {"role": "ADMIN"},
    )
    assert TaskRecord.objects.get(pk=done.task_id).trigger == "retry"
    with pytest.raises(TaskActionRefused, match="only a failed report can be retried"):
        task_retry(result=failed, by=admin)
    task_cancel(result=task_get(done.task_id), by=admin)
    report.refresh_from_db()
    assert report.status == "cancelled" and report.cancelled_by == admin


def test_retrying_a_failed_email_task_queues_the_same_email_again_and_cancel_stops_it(
    admin, settings
):
    from tasks_app.models import EmailLog
    from tasks_app.services.emails.queueing import email_queue

    private_queue(settings, "emails", f"nobody-{uuid.uuid4().hex[:8]}")  # cancelled before a run
    # Queued nowhere (no worker may send it meanwhile), then failed as a worker would leave it.
    log = email_queue(
        to="ada@example.com", subject="Hi", body_html="<p>Hi</p>", task_queue=InMemoryTaskQueue()
    )
    EmailLog.objects.filter(pk=log.pk).update(status="failed", attempts=4, last_error="550 no")
    failed = TaskResult.objects.create(
        task_id="failed-email",
        task_name="tasks_app.send_email",
        task_kwargs=json.dumps({"email_log_id": log.pk}),
        status=states.FAILURE,
    )

    done = task_retry(result=failed, by=admin)

    again = EmailLog.objects.get(pk=log.pk)
    assert (again.status, again.attempts, again.message_id) == ("queued", 0, log.message_id)
    assert again.task_id == done.task_id and again.retried_by == admin
    task_cancel(result=task_get(done.task_id), by=admin)
    assert EmailLog.objects.get(pk=log.pk).status == "cancelled"


def test_the_admin_and_a_command_are_recorded_as_what_queued_a_task(client, super_admin):
    from django_celery_beat.models import PeriodicTask

    schedule = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    client.force_login(super_admin)
    client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "run_tasks", "_selected_action": [schedule.pk]},
    )
    call_command("schedules", "run", schedule.name, stdout=io.StringIO())

    records = TaskRecord.objects.filter(schedule=schedule.name)
    triggers = sorted(records.values_list("trigger", "triggered_by", "trigger_label"))
    assert triggers == [
        ("admin", super_admin.pk, f"run now: {schedule.name}"),
        ("command", None, f"run now: {schedule.name}"),
    ]
    for record in records:  # not left for other tests' workers (one may have run it already)
        with contextlib.suppress(TaskActionRefused):
            task_cancel(result=task_get(record.pk))


def test_a_task_whose_result_is_ignored_still_records_its_outcome(celery_worker):
    from project.celery import app as celery_app

    task_id = celery_app.send_task("tasks_app.ping", ignore_result=True).id

    result = finished(task_id)
    [attempt] = TaskAttempt.objects.filter(task_id=task_id)
    assert result.result is None and attempt.outcome == "success"
