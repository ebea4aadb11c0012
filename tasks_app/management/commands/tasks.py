"""`manage.py tasks`: the task history for operators without a browser.

    tasks list [--status S] [--task-name N] [--trigger T] [--schedule S] [--queue Q]
               [--created-after T] [--created-before T] [--limit N]
    tasks show ID
    tasks retry ID [--as USERNAME]
    tasks cancel ID [--as USERNAME]

The same filters, selectors and services as `GET /api/tasks/` and the history admin.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from project.commands import command_error
from tasks_app.filters import TaskFilterSet
from tasks_app.ledger.trigger import task_trigger
from tasks_app.models.ledger import Trigger
from tasks_app.selectors.ledger import task_attempts, task_get, task_list, task_status
from tasks_app.selectors.task_results import task_result_duration
from tasks_app.services.task_actions import TaskActionRefused, task_cancel, task_retry


class Command(BaseCommand):
    help = "List, show, retry or cancel background tasks (the task history)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        listing = commands.add_parser("list", help="Newest tasks first, filtered.")
        for name, spec in TaskFilterSet.base_filters.items():
            listing.add_argument(f"--{name.replace('_', '-')}", help=spec.extra["help_text"])
        listing.add_argument("--limit", type=int, default=50, help="At most this many (50).")
        commands.add_parser("show", help="One task with its attempts.").add_argument("task_id")
        for action in ("retry", "cancel"):
            sub = commands.add_parser(action, help=f"{action.capitalize()} one task.")
            sub.add_argument("task_id")
            sub.add_argument("--as", dest="username", help="Record this user as who asked.")

    def handle(self, *args, action: str, **options) -> None:
        with task_trigger(Trigger.COMMAND, label=f"tasks {action}"):
            getattr(self, f"do_{action}")(**options)

    def do_list(self, *, limit: int, **options) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        filters = {name: options[name] for name in TaskFilterSet.base_filters if options[name]}
        try:
            tasks = list(task_list(filters=filters)[:limit])
        except ValidationError as exc:
            raise command_error(exc) from None
        for result in tasks:
            record = getattr(result, "record", None)
            trigger = f"{record.trigger}:{record.trigger_label}" if record else "-"
            self.stdout.write(
                f"{result.task_id}  {result.date_created:%Y-%m-%d %H:%M:%S}  "
                f"{task_status(result):<18} {result.task_name or '-'}  {trigger}"
            )
        if not tasks:
            self.stdout.write("No tasks.")

    def do_show(self, *, task_id: str, **options) -> None:
        result = self.task(task_id)
        record = getattr(result, "record", None)
        lines = {
            "task": f"{result.task_name} [{result.task_id}]",
            "status": task_status(result),
            "arguments": f"{result.task_args} {result.task_kwargs}",
            "queued": f"{result.date_created:%Y-%m-%d %H:%M:%S}",
            "duration": task_result_duration(result) or "-",
        }
        if record is not None:
            who = record.triggered_by.username if record.triggered_by else ""
            lines.update(
                queue=record.queue,
                trigger=f"{record.trigger} {record.trigger_label} {who}".strip(),
                published=record.published_at or "not yet",
            )
            if record.cancelled_at:
                by = record.cancelled_by.username if record.cancelled_by else "?"
                lines["cancelled"] = f"{record.cancelled_at:%Y-%m-%d %H:%M:%S} by {by}"
        if result.result and result.status in ("SUCCESS", "FAILURE"):
            lines["result"] = json.dumps(json.loads(result.result))[:500]
        for label, value in lines.items():
            self.stdout.write(f"{label:>10}: {value}")
        for attempt in task_attempts(result.task_id):
            self.stdout.write(
                f"   attempt {attempt.number}: {attempt.outcome} on {attempt.worker or '?'}, "
                f"started {attempt.started_at:%H:%M:%S}, waited {attempt.wait_seconds or 0:.3f} s, "
                f"ran {attempt.runtime_seconds or 0:.3f} s {attempt.error}".rstrip()
            )

    def do_retry(self, *, task_id: str, username: str | None, **options) -> None:
        self.act(task_retry, task_id, username)

    def do_cancel(self, *, task_id: str, username: str | None, **options) -> None:
        self.act(task_cancel, task_id, username)

    def act(self, action, task_id: str, username: str | None) -> None:
        by = None
        if username:
            by = get_user_model().objects.filter(username__iexact=username).first()
            if by is None:
                raise CommandError(f"No user {username!r}.")
        try:
            done = action(result=self.task(task_id), by=by)
        except TaskActionRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(done.message)

    def task(self, task_id: str):
        result = task_get(task_id)
        if result is None:
            raise CommandError(f"No task {task_id}.")
        return result
