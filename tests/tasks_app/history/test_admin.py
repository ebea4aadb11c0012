"""The task history in the admin: statuses, trigger, attempts, retry, the overview."""

from __future__ import annotations

import datetime
import json
import threading

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult

from project.celery import app as celery_app
from tasks_app.admin import history as history_admin
from tasks_app.models import TaskAttempt, TaskRecord
from tasks_app.selectors.task_results import task_results_stalled_q, task_stats
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
def test_a_failed_task_is_retried_from_the_admin_and_a_refusal_says_why(
    client, super_admin, celery_worker
):
    # A real failure on a real worker: ping takes no arguments, so these make it fail.
    failed_id = celery_app.send_task(
        "tasks_app.ping", args=["abc-1"], kwargs={"user_id": "u-42"}
    ).id
    failed = wait_for(
        lambda: TaskResult.objects.filter(task_id=failed_id, status="FAILURE").first(),
        what="the failed ping",
    )
    succeeded = TaskResult.objects.create(
        task_id="t-ok", task_name="tasks_app.ping", status="SUCCESS"
    )
    client.force_login(super_admin)

    response = client.post(
        HISTORY,
        {"action": "retry", "_selected_action": [failed.pk, succeeded.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "1 task retried." in page
    assert "Task t-ok is SUCCESS; only a failed task can be retried." in page
    again = wait_for(
        lambda: TaskRecord.objects.filter(trigger="retry", triggered_by=super_admin).first(),
        what="the retry's record",
    )
    rerun = wait_for(
        lambda: TaskResult.objects.filter(task_id=again.pk, status="FAILURE").first(),
        what="the retried run",
    )
    assert json.loads(rerun.task_args) == ["abc-1"]
    assert json.loads(rerun.task_kwargs) == {"user_id": "u-42"}
    assert again.trigger_label == f"retry of {failed_id}"


@pytest.mark.django_db
def test_the_change_page_shows_the_trigger_and_attempts_and_edits_nothing(client, super_admin):
    result = TaskResult.objects.create(
        task_id="t-seen", task_name="tasks_app.ping", status="FAILURE"
    )
    TaskRecord.objects.create(
        result=result, queue="default", trigger="api", triggered_by=super_admin,
        trigger_label="POST /api/x/", created_at=timezone.now(), published_at=timezone.now(),
    )  # fmt: skip
    now = timezone.now()
    TaskAttempt.objects.create(task_id="t-seen", number=1, worker="w1@h", started_at=now)
    TaskAttempt.objects.create(
        task_id="t-seen", number=2, worker="w2@h", started_at=now, finished_at=now,
        outcome="failure", error="ValueError: boom", wait_seconds=0.5, runtime_seconds=0.25,
    )  # fmt: skip
    client.force_login(super_admin)

    page = client.get(reverse("admin:django_celery_results_taskresult_change", args=[result.pk]))

    text = page.content.decode()
    assert f"API {super_admin.username}; POST /api/x/; queue default" in text
    assert "lost (worker died)" in text and "ValueError: boom" in text and "0.250 s" in text
    assert 'name="task_name"' not in text  # read-only


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
def test_overview_with_100000_results_is_a_few_grouped_queries(
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
    now = timezone.now()
    TaskAttempt.objects.bulk_create(
        TaskAttempt(task_id=f"bulk-{i}", task_name=names[i % 3], number=n, started_at=now)
        for i in range(30)
        for n in (1, 2)
    )
    client.force_login(super_admin)

    # session + user, the aggregate, the retries, the chart queries (tasks_app.charts: at most
    # five), the periodic tasks (with their schedules and newest runs), the queues of the
    # periodic tasks: a constant, whatever the number of results.
    with django_assert_max_num_queries(12) as queries:
        response = client.get(OVERVIEW)

    assert response.status_code == 200
    stats = {s.task_name: s for s in response.context["stats"]}
    assert sum(s.total for s in stats.values()) == 100_000
    assert sum(s.counts.get("FAILURE", 0) for s in stats.values()) == 10_000
    assert stats["tasks_app.cleanup_sessions"].failure_rate == pytest.approx(1 / 8, abs=0.01)
    assert stats["tasks_app.cleanup_sessions"].retries == 10  # the second attempts of 10 tasks
    assert (
        sum("django_celery_results_taskresult" in q["sql"] for q in queries.captured_queries) <= 7
    )
    page = response.content.decode()
    assert "cleanup-expired-sessions" in page and "Workers online" in page


@pytest.mark.django_db
def test_overview_asks_the_workers_while_it_queries_the_history(client, super_admin, monkeypatch):
    # Each waits for the other: one after the other, the first would wait in vain and fail.
    together = threading.Barrier(2, timeout=5)

    def ping() -> list[str]:
        together.wait()
        return ["w1@host"]

    def stats(**kwargs):
        together.wait()
        return task_stats(**kwargs)

    monkeypatch.setattr(history_admin, "workers_online", ping)
    monkeypatch.setattr(history_admin, "task_stats", stats)
    cache.delete(history_admin.WORKERS_CACHE_KEY)
    client.force_login(super_admin)

    response = client.get(OVERVIEW)

    assert response.context["workers"] == ["w1@host"]
    assert "w1@host" in response.content.decode()


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
