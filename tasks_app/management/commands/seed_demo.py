"""`manage.py seed_demo`: demo users, sessions, a week of task history, emails and reports, so
that every admin page and chart has something to show (tasks_app.demo)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tasks_app.demo import NotEmpty, demo_seed


class Command(BaseCommand):
    help = (
        "Fill an empty database with demo data: users (roles, active and inactive, created over "
        "two years) and their API sessions, a week of task history with retries and failures, "
        "the email log and five reports. Demo users cannot log in; log in as your own admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=1000, help="demo users (default 1000)")
        parser.add_argument(
            "--tasks", type=int, default=3000, help="tasks in the week's history (default 3000)"
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="random seed (same seed, same data)"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="add the demo to a database that already has users (besides staff) or reports",
        )

    def handle(self, *args, **options) -> None:
        if options["users"] < 0 or options["tasks"] < 0:
            raise CommandError("--users and --tasks must be 0 or more")
        started = time.monotonic()
        with tqdm(total=options["users"], unit=" users", file=self.stderr, desc="users") as bar:
            try:
                summary = demo_seed(
                    users=options["users"],
                    tasks=options["tasks"],
                    seed=options["seed"],
                    force=options["force"],
                    on_users=bar.update,
                )
            except NotEmpty as exc:
                raise CommandError(f"{exc}: nothing added (--force adds the demo anyway)") from exc
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(summary.by_status.items()))
        self.stdout.write(
            f"{summary.users} users, {summary.sessions} sessions, {summary.tasks} tasks "
            f"({statuses}; {summary.attempts} attempts), {summary.emails} emails, "
            f"{summary.reports} reports in {time.monotonic() - started:.1f} s"
        )
