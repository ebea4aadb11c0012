"""REST API: admins request, list, watch and download reports; any user lists the reports they
requested (not their detail or file, which holds every user's data); anonymous callers get
nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tasks_app.models import UserReport
from tasks_app.services.reports.actions import report_cancel
from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.requests import report_create, report_fail
from tests.tasks_app.reports.conftest import wait_finished

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client_as():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def test_post_returns_202_with_a_pending_report_and_the_worker_completes_it(
    celery_worker, client_as, admin, seed_users
):
    seed_users(20)

    response = client_as(admin).post(
        "/api/reports/", {"filters": {"is_active": True}}, format="json"
    )

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "task_id", "status", "url"}
    assert body["status"] == "pending"
    assert body["url"].endswith(f"/api/reports/{body['id']}/")
    report = wait_finished(UserReport.objects.get(pk=body["id"]))
    assert report.status == "completed" and report.requested_by == admin

    detail = client_as(admin).get(body["url"]).json()
    assert detail["status"] == "completed"
    assert detail["progress_percent"] == 100
    assert detail["row_count"] == report.row_count
    assert detail["download_url"].endswith(f"/api/reports/{report.pk}/download/")


def test_download_streams_the_csv_with_a_file_name(client_as, admin, seed_users):
    seed_users(3)
    report = report_create(requested_by=admin, filters={})
    report_generate(report_id=report.pk)
    report.refresh_from_db()

    response = client_as(admin).get(f"/api/reports/{report.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{report.file_basename()}"' in response["Content-Disposition"]
    content = b"".join(response.streaming_content).decode()
    assert content.splitlines()[0] == "ID,Username,Role,Active,Created At"
    assert len(content.splitlines()) == 1 + 3 + 1  # header, seeded users, the admin


def test_download_of_an_unfinished_report_is_409(client_as, admin):
    report = report_create(requested_by=admin, filters={})

    response = client_as(admin).get(f"/api/reports/{report.pk}/download/")

    assert response.status_code == 409
    assert "pending" in response.json()["message"]


def test_download_of_a_report_whose_file_left_storage_is_410_not_a_500(client_as, admin):
    report = report_create(requested_by=admin, filters={})
    report_generate(report_id=report.pk)
    report.refresh_from_db()
    report.file.storage.delete(report.file.name)  # gone behind the report's back

    response = client_as(admin).get(f"/api/reports/{report.pk}/download/")

    assert response.status_code == 410
    assert "request the report again" in response.json()["message"]


def test_bad_filters_are_400_naming_each_filter_and_create_nothing(client_as, admin):
    response = client_as(admin).post(
        "/api/reports/", {"filters": {"role": "GOD", "colour": "red"}}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Invalid input."
    assert set(body["errors"]) == {"role", "colour"}
    assert UserReport.objects.count() == 0


def test_a_misspelt_filters_field_is_400_not_a_report_of_everyone(client_as, admin):
    response = client_as(admin).post("/api/reports/", {"filter": {"role": "ADMIN"}}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"filter"}
    assert UserReport.objects.count() == 0


def test_filters_that_are_not_an_object_are_400(client_as, admin):
    response = client_as(admin).post("/api/reports/", {"filters": ["role"]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"filters"}


def test_non_admins_cannot_request_open_or_download_a_report(client_as, admin, plain_user):
    report = report_create(requested_by=admin, filters={})
    own = report_create(requested_by=plain_user, filters={})
    report_generate(report_id=own.pk)
    client = client_as(plain_user)

    assert client.post("/api/reports/", {}, format="json").status_code == 403
    for each in (report, own):  # the detail and the file are the admin site's, even their own
        assert client.get(f"/api/reports/{each.pk}/").status_code == 403
        assert client.get(f"/api/reports/{each.pk}/download/").status_code == 403
    [listed] = client.get("/api/reports/").json()["results"]
    assert (listed["id"], listed["status"]) == (str(own.pk), "completed")
    assert listed["url"] is None and listed["download_url"] is None
    assert UserReport.objects.count() == 2


def test_anonymous_requests_are_refused(admin):
    report = report_create(requested_by=admin, filters={})

    assert APIClient().get(f"/api/reports/{report.pk}/").status_code in (401, 403)
    assert APIClient().get("/api/reports/").status_code in (401, 403)


# --- GET /api/reports/ ------------------------------------------------------------------------


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_a_plain_user_lists_only_the_reports_they_requested(client_as, admin, plain_user):
    theirs = [report_create(requested_by=plain_user, filters={}) for _ in range(2)]
    report_create(requested_by=admin, filters={})
    report_create(requested_by=None, filters={})

    response = client_as(plain_user).get("/api/reports/")

    assert response.json()["count"] == 2
    assert _ids(response) == [str(r.pk) for r in reversed(theirs)]  # newest first
    # Their filters narrow their own reports, never widen them to others'.
    assert _ids(client_as(plain_user).get(f"/api/reports/?requested_by={admin.username}")) == []


def test_an_admin_lists_every_report_and_filters_them(client_as, admin, super_admin, plain_user):
    old = report_create(requested_by=plain_user, filters={})
    UserReport.objects.filter(pk=old.pk).update(created_at="2025-01-01T00:00:00Z")
    failed = report_create(requested_by=super_admin, filters={})
    report_fail(report_id=failed.pk, error="boom")
    pending = report_create(requested_by=admin, filters={})
    client = client_as(admin)

    assert _ids(client.get("/api/reports/")) == [str(pending.pk), str(failed.pk), str(old.pk)]
    assert _ids(client.get("/api/reports/?status=failed")) == [str(failed.pk)]
    username = plain_user.username.upper()  # any case
    assert _ids(client.get(f"/api/reports/?requested_by={username}")) == [str(old.pk)]
    assert _ids(client.get("/api/reports/?created_before=2025-06-01")) == [str(old.pk)]
    assert _ids(client.get("/api/reports/?created_after=2025-06-01&status=pending")) == [
        str(pending.pk)
    ]
    item = client.get("/api/reports/?status=failed").json()["results"][0]
    assert (item["requested_by"], item["error"]) == (super_admin.username, "boom")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=finished", "status"),
        ("created_after=yesterday", "created_after"),
        ("created_after=2025-02-01&created_before=2025-01-01", "created_before"),
        ("state=failed", "state"),  # not a filter: refused, not the whole list
    ],
)
def test_a_bad_filter_is_a_400_naming_it(client_as, admin, query, field):
    response = client_as(admin).get(f"/api/reports/?{query}")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}


@pytest.mark.parametrize("count", [1, 30])
def test_the_list_is_a_constant_number_of_queries(
    client_as, admin, plain_user, count, django_assert_num_queries
):
    for i in range(count):
        report = report_create(requested_by=plain_user if i % 2 else admin, filters={})
        report_cancel(report=report, by=admin)
    client = client_as(User.objects.get(pk=admin.pk))  # no permissions cached yet

    # the user's and groups' permissions (read once, then cached on the user), the count, the page
    with django_assert_num_queries(4):
        response = client.get("/api/reports/?page_size=50")

    assert response.json()["count"] == count
    assert {item["cancelled_by"] for item in response.json()["results"]} == {admin.username}


def test_the_list_pages(client_as, admin):
    for _ in range(3):
        report_create(requested_by=admin, filters={})

    body = client_as(admin).get("/api/reports/?page_size=2&page=2").json()

    assert body["count"] == 3 and len(body["results"]) == 1 and body["next"] is None
