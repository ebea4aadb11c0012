"""`manage.py requeue_stale_emails`: send again the emails whose task message the broker lost."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand

from tasks_app.ledger.trigger import QueuesTasksCommand
from tasks_app.services.emails.housekeeping import emails_requeue_stale


class Command(QueuesTasksCommand, BaseCommand):
    help = (
        "Enqueue send_email again for emails still queued and untouched for --older-than seconds "
        "(their message was lost, e.g. Redis restarted without persistence). Sending is "
        "idempotent, so an email that is merely slow is not sent twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=900,
            help="Seconds a queued email must have been untouched (default 900, above the longest "
            "retry back-off).",
        )

    def handle(self, *args, older_than: int, **options) -> None:
        count = emails_requeue_stale(older_than=timedelta(seconds=older_than))
        self.stdout.write(f"Requeued {count} stale email(s).")
