"""The admin index leads a person to what they came to do, and the admin shows dates in the
browser's time zone."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.browser.conftest import login, shoot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def viewer_timezone() -> str:
    return "Asia/Tokyo"


def test_index_leads_to_each_task_and_dates_are_in_the_viewers_zone(page, super_admin):
    user = UserFactory(username="late.joiner")
    created = datetime.datetime(2026, 12, 3, 23, 30, tzinfo=datetime.UTC)  # Dec 4, 08:30 in Tokyo
    User.objects.filter(pk=user.pk).update(created_at=created)
    login(page, super_admin)

    page.goto("/admin/")
    expect(page.locator("#content-main caption")).to_have_text(
        ["Reports", "Schedules", "Task history", "Email log", "Users"]
    )
    shoot(page, "admin-index", element="#content")
    page.get_by_role("link", name="New report: choose users").click()
    expect(page.locator("#changelist-form")).to_be_visible()
    page.fill("#searchbar", "late.joiner")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr td.field-created_at")).to_have_text(
        "Dec. 4, 2026, 8:30 a.m."
    )
