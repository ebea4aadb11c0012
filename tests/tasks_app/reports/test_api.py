"""REST API: admins request, watch and download reports; everyone else gets 403."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tasks_app.models import UserReport
from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.requests import report_create
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


def test_filters_that_are_not_an_object_are_400(client_as, admin):
    response = client_as(admin).post("/api/reports/", {"filters": ["role"]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"filters"}


def test_non_admins_get_403_on_every_endpoint(client_as, admin, plain_user):
    report = report_create(requested_by=admin, filters={})
    client = client_as(plain_user)

    assert client.post("/api/reports/", {}, format="json").status_code == 403
    assert client.get(f"/api/reports/{report.pk}/").status_code == 403
    assert client.get(f"/api/reports/{report.pk}/download/").status_code == 403
    assert UserReport.objects.count() == 1


def test_anonymous_requests_are_refused(admin):
    report = report_create(requested_by=admin, filters={})

    assert APIClient().get(f"/api/reports/{report.pk}/").status_code in (401, 403)
