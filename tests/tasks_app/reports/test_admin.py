"""The report pages of the admin: progress, download and the task's history."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_celery_results.models import TaskResult

from accounts.models import Role, User
from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.requests import report_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_user("sue-super", "sue@example.com", "pw", role=Role.SUPER_ADMIN)


def test_report_pages_show_progress_download_and_task_history(client, superuser):
    client.force_login(superuser)
    report = report_create(requested_by=superuser, filters={})
    report_generate(report_id=report.pk)
    report.refresh_from_db()
    report.task_id = "4c1f-test-task"
    report.save(update_fields=["task_id"])

    listing = client.get(reverse("admin:tasks_app_userreport_changelist")).content.decode()
    detail = client.get(
        reverse("admin:tasks_app_userreport_change", args=[report.pk])
    ).content.decode()
    download = client.get(reverse("admin:tasks_app_userreport_download", args=[report.pk]))

    assert '<progress value="100" max="100"' in listing
    assert report.file_basename() in listing
    assert "task_id=4c1f-test-task" in detail  # no history entry yet: the filtered list
    entry = TaskResult.objects.create(task_id="4c1f-test-task", status="SUCCESS")
    detail = client.get(
        reverse("admin:tasks_app_userreport_change", args=[report.pk])
    ).content.decode()
    assert reverse("admin:django_celery_results_taskresult_change", args=[entry.pk]) in detail
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
