"""The beat check: alive, dead, or duplicated, from the heartbeat rows."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tasks_app.models import BeatHeartbeat
from tasks_app.selectors.beat import beat_status

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _beat(instance: str, seconds_ago: float) -> None:
    tick = NOW - datetime.timedelta(seconds=seconds_ago)
    BeatHeartbeat.objects.create(instance=instance, started_at=tick, last_tick_at=tick)


def test_no_heartbeat_means_beat_never_ran():
    assert beat_status(now=NOW, down_after=60).problem == "no beat has ever ticked"


def test_recent_tick_is_up_and_reports_its_age():
    _beat("h:1", 3)
    status = beat_status(now=NOW, down_after=60)
    assert status.problem is None
    assert status.age_seconds == 3
    assert status.running == ["h:1"]


def test_old_tick_is_down():
    _beat("h:1", 300)
    status = beat_status(now=NOW, down_after=60)
    assert status.problem == "last tick 300s ago (more than 60s)"
    assert status.running == []


def test_two_beats_ticking_is_a_fault():
    _beat("h:1", 2)
    _beat("h:2", 4)
    _beat("h:3", 4000)  # long dead, not counted
    assert beat_status(now=NOW, down_after=60).problem == "2 beats are running; only one may run"
