"""Create a user through `accounts.services.user_create` (so the welcome email is enqueued)."""

from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Role
from accounts.services import user_create
from project.commands import service_errors


class Command(BaseCommand):
    help = (
        "Create a user with the same validation as the API and admin, and enqueue the welcome "
        "email. The password comes from --password-env, or is asked for on a terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="Login name: letters, digits and @/./+/-/_ only.")
        parser.add_argument("email", help="Email address; unique without regard to case.")
        parser.add_argument(
            "--role",
            choices=Role.values,
            default=Role.USER,
            help="USER (default), ADMIN (admin site and user management) or SUPER_ADMIN.",
        )
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="Read the password from this environment variable (keeps it out of the "
            "process list and shell history). Without it the password is asked for.",
        )

    def handle(self, *args, username: str, email: str, role: str, **options) -> None:
        password = self._password(options["password_env"])
        with service_errors():
            user = user_create(username=username, email=email, password=password, role=role)
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} {user.username} ({user.pk})."))

    def _password(self, variable: str | None) -> str:
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
