"""The admin index leads to what people come to do (project.admin_site), and dates show in the
viewer's time zone (project.timezones)."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule
from django_celery_results.models import TaskResult

from accounts import backends
from accounts.models import Role
from project.timezones import local_time
from tests.factories import AdminFactory, UserFactory

INDEX = reverse("admin:index")
SECTIONS = ["Reports", "Schedules", "Task history", "Email log", "Users"]


def _captions(html: str) -> list[str]:
    return re.findall(r'<caption><a href="[^"]*" class="section">([^<]+)</a></caption>', html)


@pytest.mark.django_db
def test_index_groups_the_admin_by_what_people_come_to_do(client, super_admin):
    client.force_login(super_admin)
    html = client.get(INDEX).content.decode()

    assert _captions(html) == SECTIONS
    assert "What would you like to do?" in html
    assert "follow its progress, download the file" in html
    new_report = reverse("admin:accounts_user_changelist")
    assert f'<a href="{new_report}" class="addlink">New report: choose users</a>' in html
    for url, name in [
        (reverse("admin:tasks_app_userreport_changelist"), "Reports"),
        (reverse("admin:django_celery_beat_periodictask_changelist"), "Schedules"),
        (reverse("admin:django_celery_results_taskresult_changelist"), "Task history"),
        (reverse("admin:tasks_app_taskoverview_changelist"), "Overview"),
        (reverse("admin:tasks_app_emaillog_changelist"), "Email log"),
        (reverse("admin:accounts_authsession_changelist"), "Sessions"),
    ]:
        assert f'<a href="{url}">{name}</a>' in html


@pytest.mark.django_db
def test_index_shows_only_the_sections_a_staff_user_may_use(client, monkeypatch):
    """An ADMIN (accounts.backends' role permissions) sees reports, schedules, history and users,
    not the email log; without the report permission, no way to start a report."""
    admin = AdminFactory()
    client.force_login(admin)
    html = client.get(INDEX).content.decode()
    assert _captions(html) == ["Reports", "Schedules", "Task history", "Users"]
    assert "New report: choose users" in html

    granted = backends.ROLE_PERMISSIONS[Role.ADMIN] - {"tasks_app.add_userreport"}
    monkeypatch.setitem(backends.ROLE_PERMISSIONS, Role.ADMIN, granted)
    html = client.get(INDEX).content.decode()
    assert "Reports" in _captions(html)
    assert "New report: choose users" not in html


@pytest.mark.django_db
def test_app_pages_the_sidebar_and_list_headings_follow_the_index(client, super_admin):
    client.force_login(super_admin)
    app_page = client.get(reverse("admin:app_list", args=["tasks_app"])).content.decode()
    assert "Email log" in app_page and "Reports" in app_page  # the app's own page

    changelist = client.get(reverse("admin:tasks_app_emaillog_changelist")).content.decode()
    sidebar = changelist[changelist.index('id="nav-sidebar"') :]
    assert 'class="app-emails module current-app"' in sidebar
    assert 'class="app-schedules module"' in sidebar

    for name, url in [
        ("Task history", reverse("admin:django_celery_results_taskresult_changelist")),
        ("Schedules", reverse("admin:django_celery_beat_periodictask_changelist")),
        ("Reports", reverse("admin:tasks_app_userreport_changelist")),
        ("Email log", reverse("admin:tasks_app_emaillog_changelist")),
    ]:
        assert f"<h1>{name}</h1>" in client.get(url).content.decode()  # the index's name


def _crumbs(html: str) -> list[str]:
    """The breadcrumbs, each as its text, a linked one as `text -> url`."""
    block = re.search(r'<div class="breadcrumbs">(.*?)</div>', html, re.S)[1]
    parts = [part.strip() for part in block.split("&rsaquo;")]
    linked = [re.sub(r'<a href="([^"]*)">([^<]*)</a>', r"\2 -> \1", part) for part in parts]
    return [unescape(part) for part in linked]


@pytest.mark.django_db
def test_breadcrumbs_name_the_sections_and_lists_as_the_index_does(client, super_admin):
    client.force_login(super_admin)
    home = f"Home -> {INDEX}"
    history = reverse("admin:django_celery_results_taskresult_changelist")
    task = TaskResult.objects.create(task_id="crumbs-1", task_name="tasks_app.ping")
    crontab = CrontabSchedule.objects.create(minute="5")
    crontabs = reverse("admin:django_celery_beat_crontabschedule_changelist")
    users = reverse("admin:accounts_user_changelist")

    assert _crumbs(client.get(history).content.decode()) == [home, "Task history"]
    task_page = reverse("admin:django_celery_results_taskresult_change", args=[task.pk])
    assert _crumbs(client.get(task_page).content.decode()) == [
        home,
        f"Task history -> {history}",
        "tasks_app.ping crumbs-1",
    ]
    assert _crumbs(client.get(crontabs).content.decode()) == [
        home,
        f"Schedules -> {INDEX}#schedules",
        "Crontabs",
    ]
    crontab_history = reverse("admin:django_celery_beat_crontabschedule_history", args=[crontab.pk])
    crontab_page = reverse("admin:django_celery_beat_crontabschedule_change", args=[crontab.pk])
    assert _crumbs(client.get(crontab_history).content.decode())[1:] == [
        f"Schedules -> {INDEX}#schedules",
        f"Crontabs -> {crontabs}",
        f"{crontab} -> {crontab_page}",
        "History",
    ]
    assert _crumbs(client.get(reverse("admin:accounts_user_add")).content.decode()) == [
        home,
        f"Users -> {users}",
        "Add user",
    ]
    overview = reverse("admin:tasks_app_taskoverview_changelist")
    assert _crumbs(client.get(overview).content.decode()) == [
        home,
        f"Task history -> {INDEX}#history",
        "Overview",
    ]
    assert 'id="schedules"' in client.get(INDEX).content.decode()  # where the crumb leads


@pytest.mark.django_db
def test_a_rows_page_is_titled_with_the_name_the_admin_uses(client, super_admin):
    from django_celery_beat.models import PeriodicTask

    client.force_login(super_admin)
    task = TaskResult.objects.create(task_id="titled-1", task_name="tasks_app.ping")
    schedule = PeriodicTask.objects.get(name="cleanup-expired-sessions")

    task_page = client.get(reverse("admin:django_celery_results_taskresult_change", args=[task.pk]))
    schedule_page = client.get(
        reverse("admin:django_celery_beat_periodictask_change", args=[schedule.pk])
    )
    add_page = client.get(reverse("admin:django_celery_beat_periodictask_add"))

    assert _headings(task_page) == ("Change task", "tasks_app.ping titled-1")
    assert _headings(schedule_page) == ("Change schedule", str(schedule))
    assert _headings(add_page) == ("Add schedule", None)
    assert "<title>tasks_app.ping titled-1 | Change task | " in task_page.content.decode()


@pytest.mark.django_db
def test_a_rows_history_and_delete_pages_name_it_as_its_page_does(client, super_admin):
    client.force_login(super_admin)
    task = TaskResult.objects.create(task_id="named-1", task_name="tasks_app.ping")
    history = client.get(reverse("admin:django_celery_results_taskresult_history", args=[task.pk]))
    delete = client.get(reverse("admin:django_celery_results_taskresult_delete", args=[task.pk]))

    for page in (history, delete):
        crumbs = unescape(
            re.search(r'<div class="breadcrumbs">(.*?)</div>', page.content.decode(), re.S)[1]
        )
        assert ">tasks_app.ping named-1</a>" in crumbs
        assert "<Task:" not in crumbs
    assert _headings(history)[0] == "Change history: tasks_app.ping named-1"
    assert re.search('delete the task [“"]', unescape(delete.content.decode()))
    deleted = unescape(
        re.search(r'id="deleted-objects">(.*?)</ul>', delete.content.decode(), re.S)[1]
    )
    change = reverse("admin:django_celery_results_taskresult_change", args=[task.pk])
    assert f'<li>Task: <a href="{change}">tasks_app.ping named-1</a></li>' in deleted
    assert "<Task:" not in deleted


def _headings(response) -> tuple[str, str | None]:
    """A change page's title (h1) and the row's heading under it (h2), if any."""
    html = response.content.decode()
    h2 = re.search(r'<div id="content"[^>]*>.*?<h2>([^<]*)</h2>', html, re.S)
    return unescape(re.search(r"<h1>([^<]*)</h1>", html)[1]), h2 and unescape(h2[1])


@pytest.mark.django_db
def test_dates_show_in_the_zone_the_browser_names(client, super_admin):
    created = datetime.datetime(2026, 12, 3, 23, 30, tzinfo=datetime.UTC)
    user = UserFactory(username="tokyo.reader")
    type(user).objects.filter(pk=user.pk).update(created_at=created)
    client.force_login(super_admin)
    users = reverse("admin:accounts_user_changelist") + "?q=tokyo.reader"

    assert "Dec. 3, 2026, 11:30 p.m." in client.get(users).content.decode()  # TIME_ZONE, UTC
    client.cookies["viewer_tz"] = "Asia/Tokyo"
    assert "Dec. 4, 2026, 8:30 a.m." in client.get(users).content.decode()
    client.cookies["viewer_tz"] = "Not/A_Zone"
    assert "Dec. 3, 2026, 11:30 p.m." in client.get(users).content.decode()


@pytest.mark.django_db
def test_every_admin_page_loads_the_script_that_names_the_zone(client):
    html = client.get(reverse("admin:login")).content.decode()
    assert re.search(r'<script src="[^"]*project/viewer-timezone[^"]*\.js" defer></script>', html)


def test_times_written_out_by_the_admin_follow_the_viewers_zone():
    """The history's attempts, ETAs and cancellations are written with `local_time`."""
    moment = datetime.datetime(2026, 12, 3, 23, 30, tzinfo=datetime.UTC)
    assert local_time(moment) == "2026-12-03 23:30:00 UTC"
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        assert local_time(moment) == "2026-12-04 08:30:00 JST"
