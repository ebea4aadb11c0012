"""Reports older than REPORT_RETENTION_DAYS disappear with their files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tasks_app.models import UserReport
from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.requests import report_create
from tasks_app.tasks import expire_reports

pytestmark = pytest.mark.django_db(transaction=True)


def _finished_report(age: timedelta) -> UserReport:
    report = report_create(requested_by=None, filters={})
    report_generate(report_id=report.pk)
    UserReport.objects.filter(pk=report.pk).update(created_at=timezone.now() - age)
    report.refresh_from_db()
    return report


def test_expire_task_removes_old_reports_and_their_files_and_keeps_recent_ones(celery_worker):
    retention = timedelta(days=settings.REPORT_RETENTION_DAYS)
    old = _finished_report(retention + timedelta(hours=1))
    recent = _finished_report(retention - timedelta(hours=1))
    old_file, recent_file = Path(old.file.path), Path(recent.file.path)

    assert expire_reports.delay().get(timeout=30) == {"expired": 1}

    assert list(UserReport.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not old_file.exists()
    assert recent_file.exists()
