"""`manage.py expire_task_history [--dry-run]`: the scheduled history retention, by hand."""

from __future__ import annotations

from project.commands import BatchedDeleteCommand
from tasks_app.selectors.task_results import task_results_expired_counts
from tasks_app.services.history_retention import task_history_expire


class Command(BatchedDeleteCommand):
    help = "Delete task history past its retention (TASK_HISTORY_RETENTION), in batches."

    def handle(self, *args, dry_run: bool, batch_size: int, **options) -> None:
        counts = task_results_expired_counts()
        total = sum(n for _, _, n in counts)
        if dry_run:
            for task_name, status, n in counts:
                self.stdout.write(f"{n:>10}  {status:<8}  {task_name}")
            self.stdout.write(f"would delete {total} task history rows")
            return
        with self.progress_bar(total, options["verbosity"]) as bar:
            deleted = task_history_expire(batch_size=batch_size, on_batch=bar.update)
        self.stdout.write(f"deleted {deleted} task history rows")
