from django.db import migrations, models


class Migration(migrations.Migration):
    """An attempt whose worker died ends as `lost` (tasks_app.ledger.lost); the sweep that finds
    them every minute reads the running attempts from a small partial index."""

    dependencies = [
        ("tasks_app", "0014_history_buckets"),
    ]

    operations = [
        migrations.AlterField(
            model_name="taskattempt",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("running", "running"),
                    ("success", "succeeded"),
                    ("failure", "failed"),
                    ("retry", "failed, retry scheduled"),
                    ("ignored", "ignored"),
                    ("lost", "lost (worker died)"),
                ],
                default="running",
                max_length=10,
            ),
        ),
        migrations.AddIndex(
            model_name="taskattempt",
            index=models.Index(
                condition=models.Q(("outcome", "running")),
                fields=["worker"],
                name="taskattempt_running",
            ),
        ),
    ]
