"""`manage.py schedules`: the schedules for operators without a browser. The same selectors and
services as the admin and `/api/schedules/`: list them, run one now, enable or disable one."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_celery_beat.models import PeriodicTask

from project.commands import service_errors
from tasks_app.ledger.trigger import QueuesTasksCommand
from tasks_app.selectors.schedules import (
    schedule_get,
    schedule_list_with_outcomes,
    schedule_next_run,
)
from tasks_app.services.schedules import schedule_run_now, schedules_set_enabled

COLUMNS = ("name", "task", "schedule", "enabled", "next run", "last run", "last outcome")


class Command(QueuesTasksCommand, BaseCommand):
    help = (
        "List the schedules (name, task, timing, enabled, next run, last run and its outcome), "
        "run one now as beat would, or enable or disable one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("list", help="Every schedule, by name.")
        for action, help_text in (
            ("run", "Send the schedule's task once now, with its queue, expiry and headers."),
            ("enable", "Switch the schedule on (beat notices within 5 s)."),
            ("disable", "Switch the schedule off."),
        ):
            sub = actions.add_parser(action, help=help_text)
            sub.add_argument("name", help="The schedule's name (see `schedules list`).")

    def handle(self, *args, action: str, **options) -> None:
        if action == "list":
            self.list()
            return
        schedule = self.schedule(options["name"])
        with service_errors():
            if action == "run":
                self.run(schedule)
            else:
                self.set_enabled(schedule, enabled=action == "enable")

    def list(self) -> None:
        rows = [
            (
                schedule.name,
                schedule.task,
                str(schedule.scheduler) if schedule.scheduler else "-",
                "yes" if schedule.enabled else "no",
                _moment(schedule_next_run(schedule)),
                _moment(schedule.last_run_at),
                f"{schedule.last_status} at {_moment(schedule.last_done_at)}"
                if schedule.last_status
                else "-",
            )
            for schedule in schedule_list_with_outcomes()
        ]
        widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
        for row in [COLUMNS, *rows]:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )

    def run(self, schedule: PeriodicTask) -> None:
        task_id = schedule_run_now(schedule=schedule)
        self.stdout.write(f"schedule {schedule.name} sent {schedule.task} as task {task_id}")

    def set_enabled(self, schedule: PeriodicTask, *, enabled: bool) -> None:
        word = "enabled" if enabled else "disabled"
        if schedules_set_enabled(
            schedules=PeriodicTask.objects.filter(pk=schedule.pk), enabled=enabled
        ):
            self.stdout.write(f"schedule {schedule.name} {word}")
        else:
            self.stdout.write(f"schedule {schedule.name} was already {word}; nothing changed")

    def schedule(self, name: str) -> PeriodicTask:
        schedule = schedule_get(name=name)
        if schedule is None:
            raise CommandError(
                f"no schedule named {name!r} (`manage.py schedules list` shows them)"
            )
        return schedule


def _moment(value: datetime.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z") if value else "-"
