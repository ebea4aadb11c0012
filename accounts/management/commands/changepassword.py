"""`manage.py changepassword USERNAME`: Django's command, through `user_set_password`, so the
password is validated and the user's API and admin sessions end (Django's own only saves it).

It replaces django.contrib.auth's command of the same name: `accounts` comes before it in
INSTALLED_APPS.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.management.password_input import PASSWORD_ENV_HELP, read_password
from accounts.models import User
from accounts.services import user_set_password
from project.commands import service_errors


class Command(BaseCommand):
    help = (
        "Change a user's password (validated like every password) and end the user's sessions. "
        "The password comes from --password-env, or is asked for on a terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The login name of the user, exactly.")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help=PASSWORD_ENV_HELP,
        )

    def handle(self, *args, username: str, password_env: str | None, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        password = read_password(password_env)
        with service_errors():
            user_set_password(user=user, password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Password of {user.username} changed; its sessions ended.")
        )
