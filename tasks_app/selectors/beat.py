"""Is a beat alive and sending? Read from the beats' heartbeat rows (tasks_app.scheduler)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from tasks_app.models import BeatHeartbeat


@dataclass(frozen=True)
class BeatStatus:
    last_tick_at: datetime.datetime | None
    age_seconds: float | None
    running: list[str]  # host:pid of every beat that ticked within the threshold
    standby: list[str]  # those of them that do not hold the lease (they send nothing)
    problem: str | None  # None when a beat that holds the lease ticks

    def as_dict(self) -> dict[str, object]:
        return {
            "last_tick_at": self.last_tick_at.isoformat() if self.last_tick_at else None,
            "age_seconds": self.age_seconds,
            "running": self.running,
            "standby": self.standby,
        }


def beat_status(
    *, now: datetime.datetime | None = None, down_after: int | None = None
) -> BeatStatus:
    """A beat holding the lease and ticking within `down_after` seconds is healthy, with or
    without beats on standby beside it; none ticking, or none holding the lease, is down. A
    second beat is no fault: the lease lets only one send (tasks_app.services.beat_lease)."""
    now = now or timezone.now()
    down_after = down_after if down_after is not None else settings.BEAT_DOWN_AFTER_SECONDS
    beats = list(BeatHeartbeat.objects.only("instance", "last_tick_at", "leading")[:20])
    if not beats:
        return BeatStatus(None, None, [], [], "no beat has ever ticked")
    last = beats[0].last_tick_at
    age = round((now - last).total_seconds(), 1)
    cutoff = now - datetime.timedelta(seconds=down_after)
    recent = [beat for beat in beats if beat.last_tick_at >= cutoff]
    running = [beat.instance for beat in recent]
    standby = [beat.instance for beat in recent if not beat.leading]
    problem = None
    if not running:
        problem = f"last tick {age:g}s ago (more than {down_after}s)"
    elif len(standby) == len(running):
        problem = f"{len(running)} beat(s) on standby; none holds the lease"
    return BeatStatus(last, age, running, standby, problem)
