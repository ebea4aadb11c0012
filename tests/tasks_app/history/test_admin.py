"""The task history in the admin: columns, duration, stalled rows, re-enqueue, the overview."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.selectors.task_results import task_results_stalled_q
from tasks_app.services.history import task_result_reenqueue
from tests.support.polling import wait_for

HISTORY = reverse("admin:django_celery_results_taskresult_changelist")
OVERVIEW = reverse("admin:tasks_app_taskoverview_changelist")


def _result(task_id: str, status: str, *, started_ago: datetime.timedelta | None = None, **fields):
    now = timezone.now()
    return TaskResult(
        task_id=task_id,
        status=status,
        task_name=fields.pop("task_name", "tasks_app.cleanup_sessions"),
        task_args=fields.pop("task_args", json.dumps("()")),
        task_kwargs=fields.pop("task_kwargs", json.dumps("{}")),
        worker=fields.pop("worker", "w1@host"),
        date_started=now - started_ago if started_ago is not None else None,
        **fields,
    )


@pytest.mark.django_db(transaction=True)
def test_failed_task_is_reenqueued_with_its_original_arguments(client, super_admin, celery_worker):
    # A real failure on a real worker: ping takes no arguments, so these make it fail.
    failed_id = celery_app.send_task(
        "tasks_app.ping", args=["abc-1"], kwargs={"user_id": "u-42"}
    ).id
    failed = wait_for(
        lambda: TaskResult.objects.filter(task_id=failed_id, status="FAILURE").first(),
        what="the failed ping",
    )
    client.force_login(super_admin)

    response = client.post(
        HISTORY, {"action": "reenqueue", "_selected_action": [failed.pk]}, follow=True
    )

    assert "1 task re-enqueued." in response.content.decode()
    again = wait_for(
        lambda: (
            TaskResult.objects.filter(task_name="tasks_app.ping", status="FAILURE")
            .exclude(task_id=failed_id)
            .first()
        ),
        what="the re-enqueued run",
    )
    assert (again.task_args, again.task_kwargs) == (failed.task_args, failed.task_kwargs)
    assert json.loads(again.task_kwargs) == "{'user_id': 'u-42'}"


@pytest.mark.django_db
def test_only_failed_tasks_with_readable_arguments_are_reenqueued(
    django_capture_on_commit_callbacks,
):
    queue = InMemoryTaskQueue()
    with pytest.raises(ValidationError, match="did not fail"):
        task_result_reenqueue(task_result=_result("t-ok", "SUCCESS"), task_queue=queue)
    shortened = _result("t-cut", "FAILURE", task_args=json.dumps("['abc..."))
    with pytest.raises(ValidationError, match="cannot be read back"):
        task_result_reenqueue(task_result=shortened, task_queue=queue)
    failed = _result(
        "t-f",
        "FAILURE",
        task_args=json.dumps("['r-1', 3]"),
        task_kwargs=json.dumps("{'user_id': 'u-1', 'force': True}"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        task_result_reenqueue(task_result=failed, task_queue=queue)

    [sent] = queue.published
    assert (sent.name, sent.args, sent.kwargs) == (
        "tasks_app.cleanup_sessions",
        ("r-1", 3),
        {"user_id": "u-1", "force": True},
    )


@pytest.mark.django_db
def test_history_lists_every_column_and_shows_dead_workers_tasks_as_stalled(client, super_admin):
    TaskResult.objects.bulk_create(
        [
            _result("t-running", "STARTED", started_ago=datetime.timedelta(seconds=5)),
            # cleanup_sessions has a 900 s time limit: 20 minutes STARTED means its worker died.
            _result("t-dead", "STARTED", started_ago=datetime.timedelta(minutes=20)),
            # a task without a time limit falls back to TASK_STALLED_AFTER_SECONDS (1 h)
            _result(
                "t-long",
                "STARTED",
                task_name="tasks_app.unknown",
                started_ago=datetime.timedelta(minutes=20),
            ),
            _result(
                "t-done",
                "SUCCESS",
                started_ago=datetime.timedelta(seconds=3),
                result=json.dumps({"status": "completed", "deleted_sessions": 4}),
                task_kwargs=json.dumps("{'report_id': 'r-9'}"),
                periodic_task_name="cleanup-expired-sessions",
            ),
        ]
    )
    assert set(
        TaskResult.objects.filter(task_results_stalled_q()).values_list("task_id", flat=True)
    ) == {"t-dead"}
    client.force_login(super_admin)

    page = client.get(HISTORY).content.decode()

    assert page.count('<td class="field-state">STALLED</td>') == 1
    assert page.count('<td class="field-state">STARTED</td>') == 2
    for text in (
        "deleted_sessions",
        "{&#x27;report_id&#x27;: &#x27;r-9&#x27;}",
        "w1@host",
        "cleanup-expired-sessions",
    ):
        assert text in page
    stalled_only = client.get(HISTORY, {"status": "STALLED"})
    assert list(stalled_only.context["cl"].result_list.values_list("task_id", flat=True)) == [
        "t-dead"
    ]
    running = client.get(HISTORY, {"status": "STARTED"})
    assert set(running.context["cl"].result_list.values_list("task_id", flat=True)) == {
        "t-running",
        "t-long",
    }


@pytest.mark.django_db
def test_history_page_is_a_constant_number_of_queries(
    client, super_admin, django_assert_max_num_queries
):
    TaskResult.objects.bulk_create([_result(f"t-{i}", "SUCCESS") for i in range(120)])
    client.force_login(super_admin)

    with django_assert_max_num_queries(12):
        assert client.get(HISTORY).status_code == 200


@pytest.mark.django_db
def test_overview_with_100000_results_is_one_aggregate_query(
    client, super_admin, django_assert_max_num_queries
):
    statuses = ["SUCCESS"] * 6 + ["FAILURE", "STARTED", "RETRY", "SUCCESS"]
    names = [
        "tasks_app.cleanup_sessions",
        "tasks_app.send_welcome_email",
        "tasks_app.generate_user_report",
    ]
    TaskResult.objects.bulk_create(
        (
            TaskResult(task_id=f"bulk-{i}", task_name=names[i % 3], status=statuses[i % 10])
            for i in range(100_000)
        ),
        batch_size=5000,
    )
    client.force_login(super_admin)

    # session + user, the aggregate, the periodic tasks (with their schedules), the queues of the
    # periodic tasks: a constant, whatever the number of results.
    with django_assert_max_num_queries(6) as queries:
        response = client.get(OVERVIEW)

    assert response.status_code == 200
    stats = {s.task_name: s for s in response.context["stats"]}
    assert sum(s.total for s in stats.values()) == 100_000
    assert sum(s.counts.get("FAILURE", 0) for s in stats.values()) == 10_000
    assert stats["tasks_app.cleanup_sessions"].failure_rate == pytest.approx(1 / 8, abs=0.01)
    assert (
        sum("django_celery_results_taskresult" in q["sql"] for q in queries.captured_queries) == 1
    )
    page = response.content.decode()
    assert "cleanup-expired-sessions" in page and "Workers online" in page


@pytest.mark.django_db
def test_overview_is_linked_from_the_admin_index(client, super_admin):
    client.force_login(super_admin)
    assert OVERVIEW in client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_change_page_renders(client, super_admin):
    TaskResult.objects.create(task_id="t-page", task_name="tasks_app.ping", status="SUCCESS")
    task = TaskResult.objects.get(task_id="t-page")
    client.force_login(super_admin)

    url = reverse("admin:django_celery_results_taskresult_change", args=[task.pk])
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_task_history_cannot_be_written_by_hand(client, super_admin):
    client.force_login(super_admin)

    assert client.get(reverse("admin:django_celery_results_taskresult_add")).status_code == 403


@pytest.mark.django_db
def test_plain_users_cannot_see_history_or_overview(client, plain_user):
    client.force_login(plain_user)
    for url in (HISTORY, OVERVIEW):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
