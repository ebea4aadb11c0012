"""`/api/schedules/`: admins only, and what each operation does."""

from __future__ import annotations

import datetime

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _cleanup() -> PeriodicTask:
    return PeriodicTask.objects.get(name="cleanup-expired-sessions")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/schedules/"),
        ("get", "/api/schedules/{pk}/"),
        ("patch", "/api/schedules/{pk}/"),
        ("post", "/api/schedules/{pk}/run/"),
    ],
)
def test_non_admins_are_refused(plain_user, method, url):
    url = url.format(pk=_cleanup().pk)
    client = APIClient()
    assert getattr(client, method)(url, {}, format="json").status_code in (401, 403)
    client.force_authenticate(plain_user)
    assert getattr(client, method)(url, {"enabled": False}, format="json").status_code == 403
    assert _cleanup().enabled


def test_list_shows_every_schedule_with_its_timing(admin_api):
    response = admin_api.get("/api/schedules/")

    assert response.status_code == 200
    by_name = {row["name"]: row for row in response.json()}
    assert by_name["cleanup-expired-sessions"]["interval"] == {"every": 1, "period": "hours"}
    assert by_name["expire-reports"]["crontab"]["hour"] == "3"
    assert by_name["cleanup-expired-sessions"]["next_run_at"] is not None


def test_patch_interval_points_at_a_new_schedule_and_tells_beat(admin_api):
    before = PeriodicTasks.last_change()
    shared = _cleanup().interval

    response = admin_api.patch(
        f"/api/schedules/{_cleanup().pk}/",
        {"interval": {"every": 20, "period": "seconds"}},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["interval"] == {"every": 20, "period": "seconds"}
    task = _cleanup()
    assert (task.interval.every, task.interval.period) == (20, IntervalSchedule.SECONDS)
    shared.refresh_from_db()  # the old row, maybe used by other tasks, is unchanged
    assert (shared.every, shared.period) == (1, IntervalSchedule.HOURS)
    assert PeriodicTasks.last_change() > (
        before or datetime.datetime.min.replace(tzinfo=datetime.UTC)
    )


def test_patch_crontab_and_disable(admin_api):
    response = admin_api.patch(
        f"/api/schedules/{_cleanup().pk}/",
        {"crontab": {"minute": "*/15"}, "enabled": False},
        format="json",
    )

    assert response.status_code == 200, response.json()
    task = _cleanup()
    assert task.interval is None and task.crontab.minute == "*/15"
    assert not task.enabled
    assert admin_api.patch(f"/api/schedules/{task.pk}/", {"enabled": True}, format="json").json()[
        "enabled"
    ]


def test_patch_rejects_a_bad_crontab_and_both_timings(admin_api):
    url = f"/api/schedules/{_cleanup().pk}/"
    assert admin_api.patch(url, {"crontab": {"minute": "61"}}, format="json").status_code == 400
    both = {"crontab": {"minute": "1"}, "interval": {"every": 1, "period": "days"}}
    assert admin_api.patch(url, both, format="json").status_code == 400
    for every in (0, 10**9):  # past 999999999 days no timedelta holds it: a 400, not a 500
        response = admin_api.patch(
            url, {"interval": {"every": every, "period": "days"}}, format="json"
        )
        assert response.status_code == 400, response.content
    assert _cleanup().interval.every == 1


def test_a_field_the_patch_does_not_take_is_400_and_changes_nothing(admin_api):
    url = f"/api/schedules/{_cleanup().pk}/"
    response = admin_api.patch(url, {"enable": False}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"enable"}
    nested = {"interval": {"every": 2, "period": "hours", "evry": 3}}
    response = admin_api.patch(url, nested, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"interval.evry"}
    assert _cleanup().enabled
    assert _cleanup().interval.every == 1
