"""Finding 8: anonymous callers of /api/health/ get the overall status only (200/503 as before),
details go to staff or a configured token, the report is cached, and no host:pid is shown."""

from __future__ import annotations

import os
import socket

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIClient

from project.health import HealthView
from tests.factories import AdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "a-health-token-for-the-probe-of-the-tests"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {open_session(user)[1]}")
    return client


def test_anonymous_callers_get_the_status_only(beat):
    response = Client().get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "up"}


def test_anonymous_callers_still_get_503_when_something_is_down():
    # No beat runs in this test.
    response = Client().get("/api/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "down"}


def test_plain_users_and_wrong_tokens_get_the_status_only():
    with override_settings(HEALTH_TOKEN=TOKEN):
        assert set(bearer(UserFactory()).get("/api/health/").json()) == {"status"}
        assert set(Client().get("/api/health/", HTTP_X_HEALTH_TOKEN="wrong").json()) == {"status"}


def test_staff_and_the_configured_token_get_the_details():
    session = Client()
    session.force_login(AdminFactory())
    with override_settings(HEALTH_TOKEN=TOKEN):
        token_body = Client().get("/api/health/", HTTP_X_HEALTH_TOKEN=TOKEN).json()
    for body in (
        session.get("/api/health/").json(),
        bearer(AdminFactory()).get("/api/health/").json(),
        token_body,
    ):
        assert "beat" in body["down"]
        assert set(body["checks"]) == {"database", "broker", "workers", "beat", "schedules"}


def test_an_empty_token_setting_opens_nothing():
    assert set(Client().get("/api/health/", HTTP_X_HEALTH_TOKEN="").json()) == {"status"}


@override_settings(HEALTH_CACHE_SECONDS=5)
def test_report_is_cached_for_a_few_seconds(monkeypatch):
    assert Client().get("/api/health/").status_code == 503

    def no_checks(self):
        raise AssertionError("the checks ran again")

    monkeypatch.setattr(HealthView, "named_checks", no_checks)
    assert Client().get("/api/health/").json() == {"status": "down"}
    assert "beat" in cache.get(HealthView.cache_key)["down"]


def test_no_host_or_pid_in_the_details(beat, admin_client):
    page = admin_client.get("/api/health/").content.decode()

    assert socket.gethostname() not in page
    assert str(beat.process.pid) not in page
    assert f":{os.getpid()}" not in page
