"""Is beat alive, and is it alone? Read from its heartbeat rows (tasks_app.scheduler)."""

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
    problem: str | None  # None when exactly one beat ticks

    def as_dict(self) -> dict[str, object]:
        return {
            "last_tick_at": self.last_tick_at.isoformat() if self.last_tick_at else None,
            "age_seconds": self.age_seconds,
            "running": self.running,
        }


def beat_status(
    *, now: datetime.datetime | None = None, down_after: int | None = None
) -> BeatStatus:
    """One beat ticking within `down_after` seconds is healthy; none is down; two is a fault too
    (every periodic task would be sent twice)."""
    now = now or timezone.now()
    down_after = down_after if down_after is not None else settings.BEAT_DOWN_AFTER_SECONDS
    beats = list(BeatHeartbeat.objects.only("instance", "last_tick_at")[:20])
    if not beats:
        return BeatStatus(None, None, [], "no beat has ever ticked")
    last = beats[0].last_tick_at
    age = round((now - last).total_seconds(), 1)
    cutoff = now - datetime.timedelta(seconds=down_after)
    running = [beat.instance for beat in beats if beat.last_tick_at >= cutoff]
    problem = None
    if not running:
        problem = f"last tick {age:g}s ago (more than {down_after}s)"
    elif len(running) > 1:
        problem = f"{len(running)} beats are running; only one may run"
    return BeatStatus(last, age, running, problem)
