"""`manage.py relay_outbox`: publish the tasks whose publish after commit failed (broker down)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from project.celery import app
from tasks_app.queue.outbox import RelayResult, outbox_relay


class Command(BaseCommand):
    help = (
        "Publish committed outbox rows to the broker. Once by default (beat also runs the same "
        "relay every 30 s); with --loop, keep going as a process of its own, waiting --interval "
        "seconds when there is nothing to do."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Run until stopped (SIGTERM/Ctrl-C)."
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between passes (default 1)."
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )

    def handle(self, *args, loop: bool, interval: float, batch_size: int, **options) -> None:
        if not loop:
            self.report(outbox_relay(app, batch_size=batch_size))
            return
        try:
            while True:
                result = self.relay_pass(batch_size)
                if not result.published or result.failed:
                    time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    def relay_pass(self, batch_size: int) -> RelayResult:
        """One pass; database errors are reported and retried, never the end of the relay."""
        try:
            result = outbox_relay(app, batch_size=batch_size)
        except Exception as exc:
            self.stderr.write(f"Relay pass failed: {type(exc).__name__}: {exc}")
            return RelayResult(0, 1, -1)
        if result.published or result.failed:
            self.report(result)
        return result

    def report(self, result: RelayResult) -> None:
        self.stdout.write(
            f"Published {result.published}, failed {result.failed}, pending {result.pending}."
        )
