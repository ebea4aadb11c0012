"""Signal receivers of the background-task app."""

from __future__ import annotations

from django.db import connections
from django_celery_beat.models import PeriodicTask

from tasks_app.services.schedules import schedules_setup_defaults


def create_default_schedules(
    sender, *, using: str = "default", verbosity: int = 1, **kwargs
) -> None:
    """post_migrate: create the default schedules that are missing (never touches existing ones)."""
    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return  # migrated to a target before django-celery-beat's tables exist
    for name in schedules_setup_defaults(using=using):
        if verbosity >= 2:
            print(f"  Created schedule {name!r}")  # migrate's own output, as contenttypes does
