"""Retry and cancel of a report, from the services, the admin and the API: a failed report is
generated again by a real worker; a cancelled one never runs; anything else is refused with the
reason, and no entry point reports success for what did not happen."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import reverse
from django_celery_results.models import TaskResult
from rest_framework.test import APIClient

from project.errors import PermissionDeniedError
from tasks_app.models import UserReport
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.services.reports.actions import ReportActionRefused, report_cancel, report_retry
from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.requests import (
    REPORT_TASK,
    report_create,
    report_fail,
    report_request,
)
from tests.support.broker import drop_queue
from tests.support.polling import wait_for
from tests.support.worker import private_queue
from tests.tasks_app.reports.conftest import read_report, wait_finished

Status = UserReport.Status


@pytest.fixture
def reports_queue(settings):
    """This test's reports go to a queue of their own: no worker runs them until the test starts
    one with `worker_env`."""
    name = f"reports-{uuid.uuid4().hex[:8]}"
    env = private_queue(settings, "reports", name)
    yield name, env
    drop_queue(name)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- With a real worker ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_failed_report_is_generated_again_by_a_worker_with_the_same_filters(
    start_worker, reports_queue, seed_users, admin
):
    queue, env = reports_queue
    users = seed_users(30)
    # A worker that cannot create its temporary directory (/proc takes no new entries, even from
    # root): the export really fails.
    broken = start_worker(queues=queue, REPORT_TMP_DIR=f"/proc/{queue}", **env)
    report = wait_finished(report_request(requested_by=admin, filters={"is_active": True}))
    assert report.status == Status.FAILED and "FileNotFoundError" in report.error
    failed_task = report.task_id
    broken.stop()

    start_worker(queues=queue, **env)
    with transaction.atomic():
        retried = report_retry(report=report, by=admin)
    assert (retried.status, retried.error, retried.retries) == (Status.PENDING, "", 1)
    assert retried.task_id != failed_task

    report = wait_finished(retried)
    assert report.status == Status.COMPLETED, report.error
    assert report.filters == {"is_active": True}
    _, rows = read_report(report)
    active = {str(u.pk) for u in users if u.is_active} | {str(admin.pk)}
    assert {row[0] for row in rows} == active
    # Both attempts stay in the history, under their own task ids.
    wait_for(
        lambda: TaskResult.objects.filter(task_id=failed_task, status="FAILURE").exists(),
        what="the failed attempt's history entry",
    )
    wait_for(
        lambda: TaskResult.objects.filter(task_id=report.task_id, status="SUCCESS").exists(),
        what="the retry's history entry",
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
def test_a_report_cancelled_before_a_worker_starts_never_runs(
    start_worker, reports_queue, seed_users, plain_user
):
    queue, env = reports_queue
    seed_users(5)
    report = report_request(requested_by=plain_user, filters={})  # published, nobody consuming

    cancelled = report_cancel(report=report, by=plain_user)
    assert cancelled.status == Status.CANCELLED
    assert cancelled.cancelled_by == plain_user and cancelled.cancelled_at is not None

    start_worker(queues=queue, **env)
    result = wait_for(
        lambda: TaskResult.objects.filter(task_id=report.task_id, status="SUCCESS").first(),
        what="the worker to take the cancelled report's message",
    )
    assert '"skipped"' in result.result and '"cancelled"' in result.result
    report.refresh_from_db()
    assert report.status == Status.CANCELLED
    assert (report.started_at, report.file.name, report.rows_written) == (None, "", 0)


# --- Refusals (no worker needed) -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", [Status.PENDING, Status.RUNNING, Status.COMPLETED, Status.CANCELLED]
)
def test_only_a_failed_report_can_be_retried(status, admin, django_capture_on_commit_callbacks):
    report = report_create(requested_by=admin, filters={})
    UserReport.objects.filter(pk=report.pk).update(status=status)
    queue = InMemoryTaskQueue()

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ReportActionRefused) as refused,
    ):
        report_retry(report=report, by=admin, task_queue=queue)

    assert str(refused.value) == (
        f"report {str(report.pk)[:8]} is {status}; only a failed report can be retried"
    )
    assert queue.published == []
    report.refresh_from_db()
    assert report.status == status and report.retries == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", [Status.RUNNING, Status.COMPLETED, Status.FAILED, Status.CANCELLED]
)
def test_only_a_pending_report_can_be_cancelled(status, admin):
    report = report_create(requested_by=admin, filters={})
    UserReport.objects.filter(pk=report.pk).update(status=status)

    with pytest.raises(ReportActionRefused, match=f"is {status}; only a pending report can be"):
        report_cancel(report=report, by=admin)

    report.refresh_from_db()
    assert report.status == status and report.cancelled_by is None


@pytest.mark.django_db
def test_a_plain_user_cannot_cancel_someone_elses_report(plain_user, admin):
    report = report_create(requested_by=admin, filters={})

    with pytest.raises(PermissionDeniedError):
        report_cancel(report=report, by=plain_user)

    report.refresh_from_db()
    assert report.status == Status.PENDING


@pytest.mark.django_db
def test_the_workers_claim_skips_a_cancelled_report(admin):
    report = report_create(requested_by=admin, filters={})
    report_cancel(report=report, by=admin)

    assert report_generate(report_id=report.pk)["status"] == "skipped"
    report.refresh_from_db()
    assert report.status == Status.CANCELLED and not report.file


@pytest.mark.django_db
def test_a_retry_is_enqueued_through_the_port_after_commit(
    admin, django_capture_on_commit_callbacks
):
    report = report_create(requested_by=admin, filters={"role": "ADMIN"})
    report_fail(report_id=report.pk, error="boom")
    queue = InMemoryTaskQueue()

    with django_capture_on_commit_callbacks(execute=True):
        report = report_retry(report=report, by=admin, task_queue=queue)
        assert queue.published == []  # nothing leaves before the reset row is committed

    [sent] = queue.published
    assert (sent.name, sent.args, sent.kwargs) == (REPORT_TASK, (), {"report_id": str(report.pk)})
    assert sent.task_id == report.task_id


# --- Admin actions ----------------------------------------------------------------------------


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db(transaction=True)
def test_admin_retry_counts_what_it_queued_and_warns_with_each_refusal(
    client, super_admin, reports_queue
):
    failed = report_create(requested_by=super_admin, filters={})
    report_fail(report_id=failed.pk, error="boom")
    pending = report_create(requested_by=super_admin, filters={})
    client.force_login(super_admin)

    response = client.post(
        reverse("admin:tasks_app_userreport_changelist"),
        {"action": "retry_reports", "_selected_action": [failed.pk, pending.pk]},
    )

    assert _messages(response) == [
        (
            "warning",
            f"report {str(pending.pk)[:8]} is pending; only a failed report can be retried",
        ),
        ("success", "1 report queued again."),
    ]
    failed.refresh_from_db()
    assert failed.status == Status.PENDING and failed.retries == 1


@pytest.mark.django_db
def test_admin_cancel_that_cancels_nothing_says_so(client, super_admin):
    report = report_create(requested_by=super_admin, filters={})
    report_fail(report_id=report.pk, error="boom")
    client.force_login(super_admin)

    response = client.post(
        reverse("admin:tasks_app_userreport_changelist"),
        {"action": "cancel_reports", "_selected_action": [report.pk]},
    )

    assert _messages(response) == [
        (
            "warning",
            f"report {str(report.pk)[:8]} is failed; only a pending report can be cancelled",
        ),
        ("warning", "0 reports cancelled."),
    ]


@pytest.mark.django_db
def test_admin_cancel_records_who_cancelled(client, super_admin):
    report = report_create(requested_by=None, filters={})
    client.force_login(super_admin)

    response = client.post(
        reverse("admin:tasks_app_userreport_changelist"),
        {"action": "cancel_reports", "_selected_action": [report.pk]},
    )

    assert _messages(response) == [("success", "1 report cancelled.")]
    report.refresh_from_db()
    assert report.status == Status.CANCELLED and report.cancelled_by == super_admin


# --- API --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_api_retry_is_202_with_the_pending_report_and_409_when_not_failed(admin, reports_queue):
    report = report_create(requested_by=admin, filters={})
    report_fail(report_id=report.pk, error="boom")

    first = _api(admin).post(f"/api/reports/{report.pk}/retry/")
    again = _api(admin).post(f"/api/reports/{report.pk}/retry/")

    assert first.status_code == 202
    assert first.json()["status"] == "pending" and first.json()["retries"] == 1
    assert again.status_code == 409
    assert again.json()["message"].endswith("is pending; only a failed report can be retried")


@pytest.mark.django_db
def test_api_retry_is_for_reports_admins_only(plain_user):
    report = report_create(requested_by=plain_user, filters={})
    report_fail(report_id=report.pk, error="boom")

    assert _api(plain_user).post(f"/api/reports/{report.pk}/retry/").status_code == 403


@pytest.mark.django_db
def test_api_owner_cancels_their_own_pending_report(plain_user):
    report = report_create(requested_by=plain_user, filters={})

    response = _api(plain_user).post(f"/api/reports/{report.pk}/cancel/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["cancelled_by"] == plain_user.username
    assert _api(plain_user).post(f"/api/reports/{report.pk}/cancel/").status_code == 409


@pytest.mark.django_db
def test_api_cancel_of_someone_elses_report_is_404_for_a_plain_user_and_allowed_to_an_admin(
    plain_user, admin, super_admin
):
    report = report_create(requested_by=super_admin, filters={})

    assert _api(plain_user).post(f"/api/reports/{report.pk}/cancel/").status_code == 404
    assert _api(admin).post(f"/api/reports/{report.pk}/cancel/").status_code == 200
    report.refresh_from_db()
    assert report.status == Status.CANCELLED and report.cancelled_by == admin
