"""The CSV report in the admin: requested from the filtered user list, watched while it runs (the
page refreshes itself), downloaded and compared with the database."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tasks_app.models import UserReport
from tasks_app.services.reports.requests import report_create
from tests.browser.conftest import choose_action, login, shoot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

REPORT_ACTION = "Generate CSV report of the filtered users"


def test_report_of_active_users_is_watched_to_completion_and_matches_the_database(
    page, super_admin, celery_worker
):
    UserFactory.create_batch(6)
    UserFactory.create_batch(3, is_active=False)
    login(page, super_admin)

    page.goto("/admin/accounts/user/")
    page.click("#changelist-filter a[href*='is_active=true']")
    expect(page.locator("#result_list tbody tr")).to_have_count(7)  # and the super admin
    choose_action(page, REPORT_ACTION)
    shoot(page, "report-action")
    page.click("button[name=index]")

    message = page.locator(".messagelist .success")
    expect(message).to_contain_text("queued for the users matching is_active=True")
    message.locator("a").click()
    # No reload by hand: the page reloads itself while the report is pending or running.
    expect(page.locator(".field-status .readonly")).to_have_text("Completed", timeout=30_000)
    expect(page.locator(".field-progress .readonly")).to_contain_text("100%")
    shoot(page, "report-completed")

    with page.expect_download() as download:
        page.locator(".field-download a").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0] == ["ID", "Username", "Role", "Active", "Created At"]
    active = User.objects.filter(is_active=True)
    assert {(row[0], row[1]) for row in rows[1:]} == {(str(u.pk), u.username) for u in active}
    assert len(rows) == 1 + active.count()
    assert UserReport.objects.get().row_count == active.count()


def test_report_in_progress_shows_its_progress_without_a_reload(page, super_admin):
    report = report_create(requested_by=super_admin, filters={"is_active": "true"})
    UserReport.objects.filter(pk=report.pk).update(
        status=UserReport.Status.RUNNING, total_rows=1000, rows_written=400
    )
    login(page, super_admin)
    page.goto(f"/admin/tasks_app/userreport/{report.pk}/change/")
    expect(page.locator(".field-progress .readonly")).to_contain_text("40%")
    shoot(page, "report-in-progress")

    # What a worker saves as it writes: the open page shows it by itself.
    UserReport.objects.filter(pk=report.pk).update(rows_written=800)
    expect(page.locator(".field-progress .readonly")).to_contain_text("80%", timeout=10_000)
    UserReport.objects.filter(pk=report.pk).update(status=UserReport.Status.FAILED, error="boom")
    expect(page.locator(".field-status .readonly")).to_have_text("Failed", timeout=10_000)
    assert page.locator("meta[http-equiv=refresh]").count() == 0  # finished: no more reloads
