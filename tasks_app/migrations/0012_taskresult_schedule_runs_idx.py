from django.db import migrations


class Migration(migrations.Migration):
    """The newest run of each schedule (tasks_app.selectors.schedules), read from the top of this
    index instead of every run of the schedule; partial, so a task sent by no schedule writes
    nothing to it."""

    dependencies = [
        ("tasks_app", "0011_email_retry"),
        ("django_celery_results", "0014_alter_taskresult_status"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS tasks_app_taskresult_schedule_runs_idx "
            "ON django_celery_results_taskresult (periodic_task_name, date_created) "
            "WHERE periodic_task_name IS NOT NULL",
            reverse_sql="DROP INDEX IF EXISTS tasks_app_taskresult_schedule_runs_idx",
        ),
    ]
