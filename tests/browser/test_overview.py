"""The task overview after `seed_demo`: its tables and charts show the demo week."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tasks_app.demo import demo_seed
from tests.browser.conftest import login, shoot

pytestmark = pytest.mark.django_db(transaction=True)


def test_overview_shows_the_demo_week_in_its_tables_and_charts(page, super_admin, celery_worker):
    demo_seed(users=300, tasks=900)
    login(page, super_admin)
    page.goto("/admin/")
    page.locator("#history-taskoverview a").click()

    tasks = page.locator("#content table").first
    expect(tasks).to_contain_text("tasks_app.send_email")
    expect(tasks).to_contain_text("tasks_app.cleanup_sessions")
    charts = page.locator("#overview-charts svg")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3
    assert page.locator("#overview-charts svg rect").count() > 24  # bars, not an empty frame
    expect(page.locator("#content")).to_contain_text(celery_worker.hostname)  # pinged
    shoot(page, "overview", element="#content")
