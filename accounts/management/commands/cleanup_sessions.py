"""`manage.py cleanup_sessions [--dry-run]`: the periodic session cleanup, by hand."""

from __future__ import annotations

from accounts.cleanup import sessions_clear_expired
from accounts.selectors import sessions_count_expired
from project.commands import BatchedDeleteCommand


class Command(BatchedDeleteCommand):
    help = "Delete expired API sessions (in batches) and Django's expired sessions."

    def handle(self, *args, dry_run: bool, batch_size: int, **options) -> None:
        expired = sessions_count_expired()
        django_sessions = "n/a" if expired.django_sessions is None else expired.django_sessions
        if dry_run:
            self.stdout.write(
                f"would delete {expired.auth_sessions} expired auth sessions "
                f"and {django_sessions} expired Django sessions"
            )
            return
        with self.progress_bar(expired.auth_sessions, options["verbosity"]) as bar:
            deleted = sessions_clear_expired(batch_size=batch_size, on_batch=bar.update)
        self.stdout.write(
            f"deleted {deleted} expired auth sessions and {django_sessions} expired Django sessions"
        )
