"""Create the superuser named by DJANGO_SUPERUSER_* once; do nothing when it exists or is unset.

Through `accounts.services.user_create`, like every other account: the password validators run
(`createsuperuser --noinput` skips them, so a SUPER_ADMIN could get the password `1`).
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from accounts.services import user_create
from project.commands import service_errors
from tasks_app.ledger.trigger import QueuesTasksCommand


class Command(QueuesTasksCommand, BaseCommand):
    help = (
        "Create the superuser DJANGO_SUPERUSER_USERNAME (with DJANGO_SUPERUSER_EMAIL and "
        "DJANGO_SUPERUSER_PASSWORD, validated like any password) unless it exists. Safe to run "
        "on every start."
    )

    def handle(self, *args, **options) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME")
        if not username:
            self.stdout.write("DJANGO_SUPERUSER_USERNAME is not set: no superuser created.")
            return
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Superuser {username!r} exists.")
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not password:
            raise CommandError("DJANGO_SUPERUSER_PASSWORD is not set or empty.")
        with service_errors():
            user = user_create(
                username=username,
                email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""),
                password=password,
                role=Role.SUPER_ADMIN,
            )
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} {user.username}."))
