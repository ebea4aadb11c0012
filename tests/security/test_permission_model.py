"""Finding 6: one permission model for the admin and the API. Each API operation on schedules,
task history and reports asks for the Django permission the admin asks for on the same model;
the ADMIN role is granted those on purpose (accounts.backends.ROLE_PERMISSIONS), a USER never.
Also the floor on schedule intervals (API and admin form) and finding 11's crontab time zone."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult
from rest_framework.test import APIClient

from accounts.models import Role, User
from tasks_app.models import UserReport
from tests.factories import AdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db


def api_for(user: User) -> APIClient:
    _session, token = open_session(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def site_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rows() -> dict:
    schedule = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    result = TaskResult.objects.create(task_id=str(uuid.uuid4()), status="SUCCESS")
    report = UserReport.objects.create(requested_by=UserFactory(), filters={})
    return {"schedule": schedule, "result": result, "report": report}


def pairs(rows: dict) -> list[tuple[str, str, str, dict | None]]:
    """(admin page, API method, API path, body): the same model, the same permission."""
    schedule, result, report = rows["schedule"], rows["result"], rows["report"]
    return [
        ("/admin/django_celery_beat/periodictask/", "get", "/api/schedules/", None),
        (
            f"/admin/django_celery_beat/periodictask/{schedule.pk}/change/",
            "patch",
            f"/api/schedules/{schedule.pk}/",
            {"enabled": True},
        ),
        (
            f"/admin/django_celery_results/taskresult/{result.pk}/change/",
            "get",
            f"/api/tasks/{result.task_id}/",
            None,
        ),
        (
            f"/admin/tasks_app/userreport/{report.pk}/change/",
            "get",
            f"/api/reports/{report.pk}/",
            None,
        ),
    ]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPER_ADMIN])
def test_the_api_allows_exactly_what_the_admin_allows(rows, role):
    user = AdminFactory(role=role)
    site, api = site_for(user), api_for(user)
    for page, method, path, body in pairs(rows):
        admin_allows = site.get(page).status_code == 200
        api_allows = getattr(api, method)(path, body, format="json").status_code != 403
        assert admin_allows == api_allows, (role, page, path)
        assert admin_allows, f"{role} is granted {page} on purpose"


def test_a_staff_member_without_the_permission_is_refused_by_both(rows, monkeypatch):
    """Take ADMIN's grant away: the admin and the API refuse together."""
    monkeypatch.setattr("accounts.backends.ROLE_PERMISSIONS", {})
    user = AdminFactory()
    site, api = site_for(user), api_for(user)
    for page, method, path, body in pairs(rows):
        assert site.get(page).status_code == 403, page
        assert getattr(api, method)(path, body, format="json").status_code == 403, path
    assert api.post("/api/reports/", {}, format="json").status_code == 403
    assert api.post(f"/api/schedules/{rows['schedule'].pk}/run/").status_code == 403

    # A group a super admin gives grants the same to both.
    group = Group.objects.create(name="schedulers")
    group.permissions.add(Permission.objects.get(codename="view_periodictask"))
    user.groups.add(group)
    user = User.objects.get(pk=user.pk)
    assert site_for(user).get(pairs(rows)[0][0]).status_code == 200
    assert api_for(user).get("/api/schedules/").status_code == 200


def test_plain_users_get_nothing(rows):
    api = api_for(UserFactory())
    for _page, method, path, body in pairs(rows):
        assert getattr(api, method)(path, body, format="json").status_code == 403


def test_an_interval_under_the_floor_is_refused_by_the_api_and_the_admin(rows, settings):
    schedule = rows["schedule"]
    api = api_for(AdminFactory())

    response = api.patch(
        f"/api/schedules/{schedule.pk}/",
        {"interval": {"every": settings.SCHEDULE_MIN_INTERVAL_SECONDS - 1, "period": "seconds"}},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["interval.every"]

    fast = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    page = site_for(AdminFactory(role=Role.SUPER_ADMIN)).post(
        f"/admin/django_celery_beat/periodictask/{schedule.pk}/change/",
        {"name": schedule.name, "regtask": schedule.task, "task": schedule.task,
         "interval": fast.pk, "enabled": "on", "args": "[]", "kwargs": "{}",
         "headers": "{}"},
    )  # fmt: skip
    assert page.status_code == 200  # the form again
    assert "at most every" in page.content.decode()
    schedule.refresh_from_db()
    assert schedule.interval_id != fast.pk


def test_a_crontab_time_zone_that_is_a_path_is_a_400(rows):
    schedule = rows["schedule"]
    response = api_for(AdminFactory()).patch(
        f"/api/schedules/{schedule.pk}/",
        {"crontab": {"minute": "0", "timezone": "../../etc/passwd"}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["message"] == "Invalid input."
    assert list(response.json()["errors"]) == ["crontab.timezone"]
