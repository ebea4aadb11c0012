"""The admin: "Generate CSV report" on the filtered user list, and the report pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_celery_results.models import TaskResult

from accounts.models import Role, User
from tasks_app.models import UserReport
from tasks_app.services.reports import report_create, report_generate

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_user("sue-super", "sue@example.com", "pw", role=Role.SUPER_ADMIN)


def _run_action(client, query: str, user: User):
    return client.post(
        f"{CHANGELIST}?{query}",
        {"action": "generate_csv_report", "_selected_action": [str(user.pk)]},
        follow=True,
    )


def test_action_reports_on_the_changelist_filters_and_links_to_the_report(
    client, superuser, django_capture_on_commit_callbacks
):
    client.force_login(superuser)

    with django_capture_on_commit_callbacks() as callbacks:
        response = _run_action(client, "is_active__exact=0&role__exact=ADMIN", superuser)

    report = UserReport.objects.get()
    assert report.filters == {"is_active": False, "role": "ADMIN"}
    assert report.requested_by == superuser and report.task_id
    assert len(callbacks) == 1  # the publication, after commit
    change_url = reverse("admin:tasks_app_userreport_change", args=[report.pk])
    assert change_url in response.content.decode()


def test_action_refuses_a_search_it_cannot_reproduce(client, superuser):
    client.force_login(superuser)

    response = _run_action(client, "q=ada", superuser)

    assert "cannot reproduce a search" in response.content.decode()
    assert UserReport.objects.count() == 0


def test_action_needs_the_permission_to_create_reports(client, superuser):
    staff = User.objects.create_user("stan-staff", "stan@example.com", "pw", role=Role.ADMIN)
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(staff)

    response = _run_action(client, "", superuser)

    assert "You may not create reports." in response.content.decode()
    assert UserReport.objects.count() == 0


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


def test_date_hierarchy_and_date_filter_become_a_creation_range():
    from tasks_app.admin.reports import report_filters_from_changelist

    assert report_filters_from_changelist(
        {"created_at__year": "2025", "created_at__month": "12", "is_active__exact": "1", "o": "2"}
    ) == {"is_active": "1", "created_after": "2025-12-01", "created_before": "2026-01-01"}
    assert report_filters_from_changelist(
        {
            "created_at__gte": "2025-01-01 00:00:00+00:00",
            "created_at__lt": "2025-01-08 00:00:00+00:00",
        }
    ) == {
        "created_after": "2025-01-01 00:00:00+00:00",
        "created_before": "2025-01-08 00:00:00+00:00",
    }
