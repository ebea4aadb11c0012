"""What the browser tests rely on, without a browser: a report in progress reloads its page, a
finished one does not; a schedule's page links to its runs in the history."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from tasks_app.admin.schedules import history_url
from tasks_app.models import UserReport
from tasks_app.services.reports.requests import report_create

pytestmark = pytest.mark.django_db

REFRESH = '<meta http-equiv="refresh" content="2">'


@pytest.mark.parametrize(
    ("status", "reloads"),
    [
        (UserReport.Status.PENDING, True),
        (UserReport.Status.RUNNING, True),
        (UserReport.Status.COMPLETED, False),
        (UserReport.Status.FAILED, False),
    ],
)
def test_report_page_reloads_itself_only_while_in_progress(client, admin, status, reloads):
    report = report_create(requested_by=admin, filters={})
    UserReport.objects.filter(pk=report.pk).update(status=status)
    client.force_login(admin)
    page = client.get(f"/admin/tasks_app/userreport/{report.pk}/change/").content.decode()
    assert (REFRESH in page) is reloads


def test_schedule_page_links_to_its_runs(client, admin):
    schedule = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    client.force_login(admin)
    page = client.get(f"/admin/django_celery_beat/periodictask/{schedule.pk}/change/")
    assert page.status_code == 200
    assert f'<a href="{history_url(schedule.name)}">Runs in the task history</a>' in (
        page.content.decode()
    )
