"""Create the superuser named by DJANGO_SUPERUSER_* once; do nothing when it exists or is unset."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the superuser DJANGO_SUPERUSER_USERNAME (with DJANGO_SUPERUSER_EMAIL and "
        "DJANGO_SUPERUSER_PASSWORD) unless it exists. Safe to run on every start."
    )

    def handle(self, *args, **options) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME")
        if not username:
            self.stdout.write("DJANGO_SUPERUSER_USERNAME is not set: no superuser created.")
            return
        if get_user_model().objects.filter(username=username).exists():
            self.stdout.write(f"Superuser {username!r} exists.")
            return
        call_command("createsuperuser", interactive=False, stdout=self.stdout, stderr=self.stderr)
