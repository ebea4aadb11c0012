"""Beat's heartbeat (the proof, in the database, that a scheduler is alive) and its lease (which
one of the beats may send)."""

from __future__ import annotations

from django.db import models


class BeatHeartbeat(models.Model):
    """One row per running beat process, touched by `tasks_app.scheduler.DatabaseScheduler`.

    The health check reads the newest `last_tick_at` (a dead beat shows as an old tick) and which
    of the beats that ticked recently holds the lease (`leading`); the others are on standby.
    """

    instance = models.CharField(
        max_length=255, unique=True, help_text="host:pid of the beat process."
    )
    started_at = models.DateTimeField(help_text="When this beat process started.")
    last_tick_at = models.DateTimeField(
        db_index=True, help_text="The last time this beat looked at its schedule."
    )
    leading = models.BooleanField(
        default=False, help_text="This beat held the lease at its last tick (it sends)."
    )

    class Meta:
        ordering = ["-last_tick_at"]

    def __str__(self) -> str:
        return f"beat {self.instance}"


class BeatLease(models.Model):
    """The one row that says which beat sends: taken when free or expired, renewed by its holder
    at every tick and in the transaction of every run it sends (`tasks_app.services.beat_lease`).
    Times are the database's, so the beats' clocks do not matter."""

    name = models.CharField(max_length=50, unique=True, help_text="What the lease is for.")
    holder = models.CharField(max_length=255, blank=True, help_text="host:pid of the holder.")
    expires_at = models.DateTimeField(help_text="Free for another beat after this time.")

    def __str__(self) -> str:
        return f"lease {self.name} held by {self.holder or 'nobody'}"
