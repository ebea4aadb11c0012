"""`manage.py cleanup_sessions [--dry-run]`: the periodic session cleanup, by hand."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.cleanup import sessions_clear_expired
from accounts.selectors import sessions_count_expired
from project.batched_delete import DEFAULT_BATCH_SIZE


class Command(BaseCommand):
    help = "Delete expired API sessions (in batches) and Django's expired sessions."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows deleted per transaction (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args, dry_run: bool, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        expired = sessions_count_expired()
        django_sessions = "n/a" if expired.django_sessions is None else expired.django_sessions
        if dry_run:
            self.stdout.write(
                f"would delete {expired.auth_sessions} expired auth sessions "
                f"and {django_sessions} expired Django sessions"
            )
            return
        with tqdm(total=expired.auth_sessions, unit="row", disable=options["verbosity"] < 1) as bar:
            deleted = sessions_clear_expired(batch_size=batch_size, on_batch=bar.update)
        self.stdout.write(
            f"deleted {deleted} expired auth sessions and {django_sessions} expired Django sessions"
        )
