"""Create a user through `accounts.services.user_create` (so the welcome email is enqueued)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from accounts.management.password_input import PASSWORD_ENV_HELP, read_password
from accounts.models import Role
from accounts.services import user_create
from project.commands import service_errors
from tasks_app.ledger.trigger import QueuesTasksCommand


class Command(QueuesTasksCommand, BaseCommand):
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
            help=PASSWORD_ENV_HELP,
        )

    def handle(self, *args, username: str, email: str, role: str, **options) -> None:
        password = read_password(options["password_env"])
        with service_errors():
            user = user_create(username=username, email=email, password=password, role=role)
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} {user.username} ({user.pk})."))
