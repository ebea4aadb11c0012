"""`manage.py beat_health`, compose's healthcheck of beat: exit status from the heartbeat rows."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tasks_app.models import BeatHeartbeat

pytestmark = pytest.mark.django_db


def _beat(instance: str, seconds_ago: float, *, leading: bool = True) -> None:
    tick = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    BeatHeartbeat.objects.create(
        instance=instance, started_at=tick, last_tick_at=tick, leading=leading
    )


@pytest.mark.parametrize("standby", [0, 1])
def test_one_beat_ticking_with_the_lease_is_healthy_with_or_without_a_standby(standby):
    _beat("beat:1", 2)
    if standby:
        _beat("beat:2", 1, leading=False)
    out = StringIO()
    call_command("beat_health", stdout=out)
    assert "beat ticked" in out.getvalue()


@pytest.mark.parametrize(
    ("beats", "reason"),
    [
        ([], "no beat has ever ticked"),
        ([("beat:1", 3600)], "last tick"),
        ([("beat:1", 1), ("beat:2", 1)], "none holds the lease"),
    ],
)
def test_no_beat_a_silent_beat_or_beats_without_the_lease_fail(beats, reason):
    for instance, seconds_ago in beats:
        _beat(instance, seconds_ago, leading=len(beats) == 1)
    with pytest.raises(CommandError, match=reason):
        call_command("beat_health")
