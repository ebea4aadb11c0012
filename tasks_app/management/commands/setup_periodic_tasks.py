"""`manage.py setup_periodic_tasks`: create the default schedules that are missing.

`migrate` runs the same service (tasks_app.apps), so this is only needed after deleting one. The
command keeps django-celery-beat's word ("periodic tasks") in its name, which scripts call.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tasks_app.services.schedules import DEFAULT_SCHEDULES, schedules_setup_defaults


class Command(BaseCommand):
    help = "Create missing default schedules; existing ones (edited or not) are left alone."

    def handle(self, *args, **options) -> None:
        created = schedules_setup_defaults()
        for name in created:
            self.stdout.write(f"created {name}")
        kept = len(DEFAULT_SCHEDULES) - len(created)
        self.stdout.write(f"{len(created)} created, {kept} already present (left unchanged)")
