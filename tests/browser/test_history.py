"""The task history in the admin: a failed email found, retried and delivered; a queued task
cancelled before any worker takes it."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tasks_app.models import EmailLog, UserReport
from tasks_app.services.emails.queueing import email_queue
from tasks_app.services.reports.requests import report_request
from tests.browser.conftest import choose_action, login, run_action, shoot
from tests.support.polling import wait_for
from tests.support.worker import private_queue

pytestmark = pytest.mark.django_db(transaction=True)

RETRY = "Retry failed tasks (resend the email, regenerate the report, rerun)"
CANCEL = "Cancel tasks that have not started"


def test_failed_email_is_found_retried_and_arrives(page, super_admin, smtp, emails_to_smtp):
    address = f"refuseonce-{uuid.uuid4().hex[:6]}@example.com"
    email = email_queue(to=address, subject="Your invoice", body_html="<p>Hello</p>")
    wait_for(
        lambda: EmailLog.objects.filter(pk=email.pk, status=EmailLog.Status.FAILED).exists(),
        what="the SMTP server's refusal to fail the email",
    )
    login(page, super_admin)

    page.goto("/admin/django_celery_results/taskresult/")
    page.click("#changelist-filter a[href*='status=FAILURE']")
    page.click("#changelist-filter a[href*='task_name=tasks_app.send_email']")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("permanent failure")  # the 554, shortened
    run_action(page, RETRY)
    expect(page.locator(".messagelist .success")).to_have_text("1 task retried.")

    received = wait_for(lambda: smtp.handler.to(address), what="the retried email at the server")
    assert received[0].message_id == EmailLog.objects.get(pk=email.pk).message_id
    page.click("#changelist-filter a[href*='status=SUCCESS']")
    retried = page.locator("#result_list tbody tr", has_text="tasks_app.send_email")
    expect(retried).to_have_count(1)
    expect(retried).to_contain_text(f"retry {super_admin.username}")
    page.click("#changelist-filter a[href='?task_name=tasks_app.send_email']")  # any status
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    shoot(page, "history-retry")
    page.goto(f"/admin/tasks_app/emaillog/{email.pk}/change/")
    expect(page.locator(".field-status .readonly")).to_have_text("Sent")
    expect(page.locator(".field-retried_by .readonly")).to_have_text(super_admin.username)


def test_queued_task_is_cancelled_before_it_runs(page, super_admin, settings):
    private_queue(settings, "reports", f"reports-unread-{uuid.uuid4().hex[:6]}")  # no worker
    report = report_request(requested_by=super_admin, filters={})
    login(page, super_admin)

    page.goto("/admin/django_celery_results/taskresult/")
    page.click("#changelist-filter a[href*='task_name=tasks_app.generate_user_report']")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("queued", ignore_case=True)
    choose_action(page, CANCEL)
    page.click("button[name=index]")
    expect(page.locator(".messagelist .success")).to_have_text("1 task cancelled.")
    expect(rows.first).to_contain_text("cancelled", ignore_case=True)
    report.refresh_from_db()
    assert report.status == UserReport.Status.CANCELLED
    assert report.cancelled_by == super_admin
