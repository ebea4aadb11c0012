"""The beat check: alive, dead, or on standby without a leader, from the heartbeat rows."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tasks_app.models import BeatHeartbeat
from tasks_app.selectors.beat import beat_status

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _beat(instance: str, seconds_ago: float, *, leading: bool = True) -> None:
    tick = NOW - datetime.timedelta(seconds=seconds_ago)
    BeatHeartbeat.objects.create(
        instance=instance, started_at=tick, last_tick_at=tick, leading=leading
    )


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


def test_a_second_beat_on_standby_is_healthy():
    _beat("h:1", 2)
    _beat("h:2", 4, leading=False)
    _beat("h:3", 4000)  # long dead, not counted
    status = beat_status(now=NOW, down_after=60)
    assert status.problem is None
    assert (status.running, status.standby) == (["h:1", "h:2"], ["h:2"])


def test_beats_ticking_without_the_lease_are_down():
    _beat("h:1", 2, leading=False)
    _beat("h:2", 4, leading=False)
    _beat("h:3", 30)  # held the lease, but has not ticked within 10 s: dead
    status = beat_status(now=NOW, down_after=10)
    assert status.problem == "2 beat(s) on standby; none holds the lease"
