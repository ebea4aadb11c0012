"""A user created in the admin gets the welcome email, which the email log shows as sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.emails import WELCOME_SUBJECT
from tests.browser.conftest import login
from tests.factories import PASSWORD
from tests.support.polling import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_user_created_in_the_admin_finds_the_welcome_email_in_the_log(
    page, super_admin, smtp, emails_to_smtp
):
    login(page, super_admin)
    page.goto("/admin/accounts/user/")
    page.get_by_role("link", name="Add user").click()
    page.fill("#id_username", "grace.hopper")
    page.fill("#id_email", "grace.hopper@example.com")
    page.select_option("#id_role", label="User")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("grace.hopper")

    wait_for(lambda: smtp.handler.to("grace.hopper@example.com"), what="the welcome email")
    page.goto("/admin/tasks_app/emaillog/")
    page.fill("#searchbar", "grace.hopper@example.com")
    page.press("#searchbar", "Enter")
    row = page.locator("#result_list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(WELCOME_SUBJECT)
    expect(row.locator("td.field-status")).to_have_text("Sent")
