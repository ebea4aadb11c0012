"""`manage.py expire_task_history [--dry-run]`: the scheduled history retention, by hand."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from project.batched_delete import DEFAULT_BATCH_SIZE
from tasks_app.selectors.task_results import task_results_expired_counts
from tasks_app.services.history_retention import task_history_expire


class Command(BaseCommand):
    help = "Delete task history past its retention (TASK_HISTORY_RETENTION), in batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only list what would be deleted."
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
        counts = task_results_expired_counts()
        total = sum(n for _, _, n in counts)
        if dry_run:
            for task_name, status, n in counts:
                self.stdout.write(f"{n:>10}  {status:<8}  {task_name}")
            self.stdout.write(f"would delete {total} task history rows")
            return
        with tqdm(total=total, unit="row", disable=options["verbosity"] < 1) as bar:
            deleted = task_history_expire(batch_size=batch_size, on_batch=bar.update)
        self.stdout.write(f"deleted {deleted} task history rows")
