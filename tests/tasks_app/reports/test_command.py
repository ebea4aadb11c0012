"""`manage.py generate_user_report` in both modes."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tasks_app.models import UserReport
from tests.tasks_app.reports.conftest import read_report, wait_finished

pytestmark = pytest.mark.django_db(transaction=True)


def test_foreground_writes_the_file_and_prints_its_path_and_row_count(seed_users):
    users = seed_users(12)
    out, err = StringIO(), StringIO()

    call_command("generate_user_report", "--is-active", "false", stdout=out, stderr=err)

    report = UserReport.objects.get()
    inactive = [u for u in users if not u.is_active]
    path, count_line = out.getvalue().splitlines()
    assert Path(path) == Path(report.file.path) and Path(path).is_file()
    assert count_line.startswith(f"{len(inactive)} rows")
    assert report.status == "completed" and report.task_id == ""
    assert len(read_report(report)[1]) == len(inactive)
    assert "report" in err.getvalue()  # the progress bar goes to stderr


def test_async_enqueues_and_prints_the_report_and_task_ids(celery_worker, seed_users, admin):
    seed_users(5)
    out = StringIO()

    call_command(
        "generate_user_report",
        "--async",
        "--role",
        "user",
        "--requested-by",
        admin.username,
        stdout=out,
    )

    match = re.fullmatch(r"report (\S+) queued as task (\S+)\n", out.getvalue())
    report = UserReport.objects.get(pk=match[1])
    assert report.task_id == match[2]
    assert report.requested_by == admin and report.filters == {"role": "USER"}
    assert wait_finished(report).status == "completed"


def test_bad_options_are_a_command_error_naming_the_filter():
    with pytest.raises(CommandError, match="created_after"):
        call_command("generate_user_report", "--created-after", "soon")
    assert UserReport.objects.count() == 0
