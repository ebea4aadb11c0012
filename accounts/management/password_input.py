"""How the accounts commands read a password: from a named environment variable, or typed twice
on a terminal; never from an argument (the process list and shell history would keep it)."""

from __future__ import annotations

import getpass
import os

from django.core.management.base import CommandError

PASSWORD_ENV_HELP = (
    "Read the password from this environment variable (keeps it out of the process list and "  # noqa: S105
    "shell history). Without it the password is asked for."
)


def read_password(variable: str | None) -> str:
    if variable:
        password = os.environ.get(variable)
        if not password:
            raise CommandError(f"Environment variable {variable} is not set or empty.")
        return password
    if not os.isatty(0):
        raise CommandError("No terminal to ask for the password: use --password-env.")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise CommandError("The two passwords differ.")
    return password
