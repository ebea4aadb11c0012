"""What management commands share: one way to turn a service's error into a `CommandError`, and
the options and progress bar of a cleanup run by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from project.batched_delete import DEFAULT_BATCH_SIZE
from project.errors import ApplicationError


def command_error(exc: ValidationError | ApplicationError) -> CommandError:
    """One line a person can act on: `field: message; other: message` (no traceback)."""
    if isinstance(exc, ApplicationError):
        return CommandError(exc.message)
    if hasattr(exc, "error_dict"):
        return CommandError(
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        )
    return CommandError("; ".join(exc.messages))


@contextmanager
def service_errors() -> Iterator[None]:
    """`with service_errors(): service(...)` in a command's `handle()`."""
    try:
        yield
    except (ValidationError, ApplicationError) as exc:
        raise command_error(exc) from None


class BatchedDeleteCommand(BaseCommand):
    """A scheduled cleanup run by hand: `--dry-run`, `--batch-size`, a progress bar per batch."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows deleted per transaction (default {DEFAULT_BATCH_SIZE}).",
        )

    def execute(self, *args, **options):
        if options.get("batch_size", DEFAULT_BATCH_SIZE) < 1:
            raise CommandError("--batch-size must be at least 1")
        return super().execute(*args, **options)

    def progress_bar(self, total: int, verbosity: int) -> tqdm:
        return tqdm(total=total, unit="row", disable=verbosity < 1)
