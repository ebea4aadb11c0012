# Task history is kept by policy (tasks_app.expire_task_history); Celery's own expiry is off.

from django.db import migrations
from django.utils import timezone

OLD_NAME = "celery.backend_cleanup"


def disable_backend_cleanup(apps, schema_editor):
    """Disable (not delete: an operator's edits and its last run stay visible) the schedule the
    earlier defaults created. With CELERY_RESULT_EXPIRES None it would only record a daily run
    that deletes nothing, under a description that says it expires results."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    changed = PeriodicTask.objects.filter(name=OLD_NAME, task=OLD_NAME, enabled=True).update(
        enabled=False,
        last_run_at=None,
        description="Replaced by expire-task-history (TASK_HISTORY_RETENTION); does nothing.",
    )
    if changed:  # tell a running beat, as the model's save signal would
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):

    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("tasks_app", "0005_outbox_options"),
    ]

    operations = [
        migrations.RunPython(disable_backend_cleanup, migrations.RunPython.noop),
    ]
