"""`manage.py beat_health`, compose's healthcheck of beat: exit status from the heartbeat rows."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tasks_app.models import BeatHeartbeat

pytestmark = pytest.mark.django_db


def _beat(instance: str, seconds_ago: float) -> None:
    tick = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    BeatHeartbeat.objects.create(instance=instance, started_at=tick, last_tick_at=tick)


def test_one_beat_ticking_is_healthy():
    _beat("beat:1", 2)
    out = StringIO()
    call_command("beat_health", stdout=out)
    assert "beat ticked" in out.getvalue()


@pytest.mark.parametrize(
    ("beats", "reason"),
    [
        ([], "no beat has ever ticked"),
        ([("beat:1", 3600)], "last tick"),
        ([("beat:1", 1), ("beat:2", 1)], "2 beats are running"),
    ],
)
def test_no_beat_a_silent_beat_or_two_beats_fail(beats, reason):
    for instance, seconds_ago in beats:
        _beat(instance, seconds_ago)
    with pytest.raises(CommandError, match=reason):
        call_command("beat_health")
