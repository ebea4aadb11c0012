"""What management commands share: one way to turn a service's error into a `CommandError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

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
