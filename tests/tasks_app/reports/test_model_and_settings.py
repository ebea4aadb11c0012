"""Small rules: the model's helpers and the time-limit settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from project.env import ConfigurationError, load_env
from tasks_app.models import UserReport


def test_progress_percent_never_shows_100_before_completion():
    report = UserReport(status=UserReport.Status.RUNNING, rows_written=1200, total_rows=1000)
    assert report.progress_percent == 99  # the planner's estimate can be low
    report.rows_written = 250
    assert report.progress_percent == 25
    assert UserReport(status=UserReport.Status.PENDING).progress_percent == 0
    assert UserReport(status=UserReport.Status.COMPLETED, total_rows=0).progress_percent == 100


def test_duration_runs_from_start_to_finish():
    start = timezone.now() - timedelta(minutes=5)
    assert UserReport().duration is None
    finished = UserReport(started_at=start, finished_at=start + timedelta(seconds=42))
    assert finished.duration == timedelta(seconds=42)
    assert UserReport(started_at=start).duration >= timedelta(minutes=5)


def test_soft_limit_must_come_before_the_hard_one(monkeypatch):
    monkeypatch.setenv("REPORT_SOFT_TIME_LIMIT", "300")
    monkeypatch.setenv("REPORT_TIME_LIMIT", "300")
    with pytest.raises(ConfigurationError, match="REPORT_SOFT_TIME_LIMIT must be lower"):
        load_env()
