"""`manage.py beat_health`: exit 0 when a beat holding the lease ticks, 1 otherwise (compose's
healthcheck of the beat service, which serves no port to probe)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tasks_app.selectors.beat import beat_status


class Command(BaseCommand):
    help = (
        "Check beat's heartbeat: exit 0 when a beat holding the lease ticked within "
        "BEAT_DOWN_AFTER_SECONDS, else exit 1 with the reason."
    )

    def handle(self, *args, **options) -> None:
        status = beat_status()
        if status.problem:
            raise CommandError(f"beat is unhealthy: {status.problem}")
        self.stdout.write(f"beat ticked {status.age_seconds:g}s ago")
