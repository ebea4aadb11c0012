from django.db import migrations


def drop_pattern_index(apps, schema_editor):
    """Postgres: the task id's second index (varchar_pattern_ops, for LIKE, which nothing runs on
    this table) is a page every enqueue's commit writes. Its own migration: Django creates it at
    the end of the migration that creates the table."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS tasks_app_taskrecord_task_id_54d29985_like")


class Migration(migrations.Migration):
    dependencies = [("tasks_app", "0008_ledger")]

    operations = [migrations.RunPython(drop_pattern_index, migrations.RunPython.noop)]
