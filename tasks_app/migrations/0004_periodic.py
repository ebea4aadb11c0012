# Beat's heartbeat, the task-overview proxy, and an index for the overview's one aggregate query.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        ('django_celery_results', '0014_alter_taskresult_status'),
        ('tasks_app', '0003_reports'),
    ]

    operations = [
        migrations.CreateModel(
            name='BeatHeartbeat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('instance', models.CharField(help_text='host:pid of the beat process.', max_length=255, unique=True)),
                ('started_at', models.DateTimeField(help_text='When this beat process started.')),
                ('last_tick_at', models.DateTimeField(db_index=True, help_text='The last time this beat looked at its schedule.')),
            ],
            options={
                'ordering': ['-last_tick_at'],
            },
        ),
        migrations.CreateModel(
            name='TaskOverview',
            fields=[
            ],
            options={
                'verbose_name': 'task overview',
                'verbose_name_plural': 'task overview',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('django_celery_results.taskresult',),
        ),
        # The overview counts results of the last 24 h by (task_name, status): with this index
        # the query reads only the index (no wide result/traceback columns), see docs/periodic.md.
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS tasks_app_taskresult_overview_idx "
            "ON django_celery_results_taskresult (date_done, task_name, status)",
            reverse_sql="DROP INDEX IF EXISTS tasks_app_taskresult_overview_idx",
        ),
    ]
