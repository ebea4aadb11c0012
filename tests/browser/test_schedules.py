"""Schedules in the admin while beat runs: edit the cleanup schedule, run it now, and find the
run in the task history from the schedule's own page."""

from __future__ import annotations

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from playwright.sync_api import expect

from tasks_app.services.schedules import schedules_setup_defaults
from tests.browser.conftest import login, shoot

pytestmark = pytest.mark.django_db(transaction=True)

CLEANUP = "cleanup-expired-sessions"
RUN_NOW = "Run selected tasks now (with their queue, expiry, priority and headers)"


@pytest.fixture
def schedules(db) -> None:
    """The default schedules (migrate makes them; a transactional test's flush removed them),
    and a second interval to choose."""
    schedules_setup_defaults()
    IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.HOURS)


def test_cleanup_schedule_is_edited_run_now_and_its_run_found_in_the_history(
    page, super_admin, schedules, beat
):
    login(page, super_admin)
    page.goto("/admin/")
    page.locator("#schedules-periodictask a").click()
    page.locator("#result_list").get_by_role("link", name=CLEANUP, exact=True).click()

    page.select_option("#id_interval", label="every 2 hours")
    page.fill("#id_description", "Delete expired sessions, every two hours for the demo.")
    shoot(page, "schedule-edit")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    schedule = PeriodicTask.objects.get(name=CLEANUP)
    assert (schedule.interval.every, schedule.interval.period) == (2, IntervalSchedule.HOURS)

    row = page.locator("#result_list tr", has_text=CLEANUP)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=RUN_NOW)
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text(f"1 task sent: {CLEANUP}")

    page.locator("#result_list").get_by_role("link", name=CLEANUP, exact=True).click()
    page.get_by_role("link", name="Runs in the task history").click()
    runs = page.locator("#result_list tbody tr", has_text="tasks_app.cleanup_sessions")
    expect(runs.first).to_be_visible()
    succeeded = runs.filter(has_text="SUCCESS")
    for _ in range(30):  # the history page does not refresh itself: reload as a person would
        if succeeded.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(succeeded.first).to_contain_text("deleted_sessions")
    assert beat.process.poll() is None, beat.log()[-2000:]  # beat ran through the edit
