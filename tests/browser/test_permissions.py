"""A staff user without the permission an action needs neither sees it nor can run it by
sending the form anyway: the user list's report action and the history's retry."""

from __future__ import annotations

import pytest
from celery import states
from django_celery_results.models import TaskResult
from playwright.sync_api import expect

from accounts import backends
from accounts.models import Role
from tasks_app.models import UserReport
from tests.browser.conftest import login
from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def action_labels(page) -> list[str]:
    """The actions the user list offers."""
    return page.locator("select[name=action] option").all_inner_texts()


def post_action_anyway(page, action: str, pks: list) -> str:
    """What a person could send without the page's help: the action's form, posted with the
    page's CSRF token (from the logout form), for the rows `pks`. Returns the page answered."""
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    response = page.request.post(
        page.url,
        form={
            "csrfmiddlewaretoken": token,
            "action": action,
            "_selected_action": [str(pk) for pk in pks],
            "index": "0",
        },
        headers={"Referer": page.url},
    )
    assert response.ok, response.status
    return response.text()


@pytest.fixture
def admin_without_reports(monkeypatch):
    """An ADMIN whose role does not grant reports (a deployment that keeps them to super
    admins): the role's permissions are the one setting that decides it."""
    granted = backends.ROLE_PERMISSIONS[Role.ADMIN] - {"tasks_app.add_userreport"}
    monkeypatch.setitem(backends.ROLE_PERMISSIONS, Role.ADMIN, granted)
    return AdminFactory()


def test_report_action_is_neither_shown_nor_run_without_the_permission(page, admin_without_reports):
    users = UserFactory.create_batch(2)
    login(page, admin_without_reports)
    page.goto("/admin/accounts/user/")
    expect(page.locator("#result_list")).to_be_visible()
    assert not [label for label in action_labels(page) if "CSV report" in label]

    answer = post_action_anyway(page, "generate_csv_report", [user.pk for user in users])
    assert "No action selected" in answer
    assert not UserReport.objects.exists()


def test_retry_is_neither_shown_nor_run_without_the_permission(page):
    """An ADMIN reads the history but may not change it (no change_taskresult)."""
    failed = TaskResult.objects.create(
        task_id="failed-ping", task_name="tasks_app.ping", status=states.FAILURE
    )
    login(page, AdminFactory())
    page.goto("/admin/django_celery_results/taskresult/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert page.locator("select[name=action]").count() == 0  # no action this user may run

    answer = post_action_anyway(page, "retry", [failed.pk])
    assert "1 task retried" not in answer
    assert TaskResult.objects.count() == 1  # no retry queued
    failed.refresh_from_db()
    assert failed.status == states.FAILURE
