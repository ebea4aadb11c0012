"""`GET /api/health/` reports the database, the broker, the workers and beat (the details, as
staff see them; what anonymous callers get is in tests/security/test_health_exposure.py)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from celery import Celery
from django.test import RequestFactory, override_settings

from project.health import HealthView

pytestmark = pytest.mark.django_db(transaction=True)
HEALTH_TOKEN = "health-probe-token-for-tests"


def call_health(**view_options) -> tuple[int, dict]:
    view = HealthView.as_view(**view_options)
    request = RequestFactory().get("/api/health/", headers={"X-Health-Token": HEALTH_TOKEN})
    with override_settings(HEALTH_TOKEN=HEALTH_TOKEN):
        response = async_to_sync(view)(request)
    return response.status_code, json.loads(response.content)


def test_all_up_with_a_running_worker_and_beat(admin_client, beat):
    response = admin_client.get("/api/health/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "up" and body["down"] == []
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up",
        "broker": "up",
        "workers": "up",
        "beat": "up",
        "schedules": "up",
    }
    assert body["checks"]["beat"]["detail"]["age_seconds"] < 30
    assert body["checks"]["beat"]["detail"]["running"] == 1


@pytest.fixture
def own_broker(monkeypatch):
    """Celery lets CELERY_BROKER_URL override any app's broker; these apps must keep their own."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


@pytest.mark.usefixtures("own_broker")
def test_no_worker_or_beat_is_503_naming_them(tmp_path):
    # An empty broker of its own: reachable, but no worker consumes from it.
    folder = str(tmp_path)
    empty = Celery("empty", broker="filesystem://localhost//", set_as_current=False)
    empty.conf.broker_transport_options = {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "control_folder": folder,
    }

    status, body = call_health(celery_app=empty)

    assert status == 503
    assert body["down"] == ["workers", "beat"]
    assert body["checks"]["broker"]["status"] == "up"


@pytest.mark.usefixtures("own_broker")
def test_broker_down_is_503_naming_broker_workers_and_beat():
    unreachable = Celery("down", broker="redis://127.0.0.1:1/0", set_as_current=False)

    status, body = call_health(celery_app=unreachable)

    assert status == 503
    assert body["down"] == ["broker", "workers", "beat"]
    assert body["checks"]["database"]["status"] == "up"
