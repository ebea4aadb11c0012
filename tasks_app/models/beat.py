"""Beat's heartbeat: the proof, in the database, that the one scheduler is alive."""

from __future__ import annotations

from django.db import models


class BeatHeartbeat(models.Model):
    """One row per running beat process, touched by `tasks_app.scheduler.DatabaseScheduler`.

    The health check reads the newest `last_tick_at` (a dead beat shows as an old tick) and counts
    the rows that ticked recently (two of them means two beats: every task would run twice).
    """

    instance = models.CharField(
        max_length=255, unique=True, help_text="host:pid of the beat process."
    )
    started_at = models.DateTimeField(help_text="When this beat process started.")
    last_tick_at = models.DateTimeField(
        db_index=True, help_text="The last time this beat looked at its schedule."
    )

    class Meta:
        ordering = ["-last_tick_at"]

    def __str__(self) -> str:
        return f"beat {self.instance}"
