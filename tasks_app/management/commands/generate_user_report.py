"""`manage.py generate_user_report`: the users CSV report, in the foreground or via a worker."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.filters import UserFilterSet
from project.commands import service_errors
from tasks_app.ledger.trigger import QueuesTasksCommand
from tasks_app.models import UserReport
from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.requests import report_create, report_request


class Command(QueuesTasksCommand, BaseCommand):
    help = (
        "Write the CSV report of users (ID, Username, Role, Active, Created At) to storage. "
        "Runs here with a progress bar and prints the file and row count; with --async, "
        "enqueues tasks_app.generate_user_report and prints the report and task ids."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # The user list's filters, validated by the FilterSet like every other entry point's.
        for name, spec in UserFilterSet.base_filters.items():
            parser.add_argument(f"--{name.replace('_', '-')}", help=spec.extra["help_text"])
        parser.add_argument("--requested-by", metavar="USERNAME", help="record who asked")
        parser.add_argument(
            "--async", dest="run_async", action="store_true", help="enqueue it for a worker"
        )

    def handle(self, *args, **options) -> None:
        filters = {
            name: options[name] for name in UserFilterSet.base_filters if options[name] is not None
        }
        requested_by = self.requester(options["requested_by"])
        if options["run_async"]:
            with service_errors():
                report = report_request(requested_by=requested_by, filters=filters)
            self.stdout.write(f"report {report.pk} queued as task {report.task_id}")
            return
        with service_errors():
            report = report_create(requested_by=requested_by, filters=filters)
        self.run_foreground(report.pk)

    def run_foreground(self, report_id) -> None:
        with tqdm(unit=" rows", unit_scale=True, file=self.stderr, desc="report") as bar:

            def progress(rows: int, total: int | None) -> None:
                bar.total = total
                bar.update(rows - bar.n)

            try:
                summary = report_generate(report_id=report_id, on_progress=progress)
            except Exception as exc:
                raise CommandError(f"report {report_id} failed: {exc}") from exc
        report = UserReport.objects.get(pk=report_id)
        self.stdout.write(f"{self.location(report)}\n{summary['rows']} rows (report {report.pk})")

    def requester(self, username: str | None):
        if username is None:
            return None
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None

    @staticmethod
    def location(report) -> str:
        """A local path with FileSystemStorage, the storage URL otherwise (S3)."""
        try:
            return report.file.path
        except NotImplementedError:
            return report.file.url
