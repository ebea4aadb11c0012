from django.db import migrations


class Migration(migrations.Migration):
    """Anchor for the app's migrations; each concern's models come in a migration of its own."""

    initial = True
    dependencies = [("accounts", "0001_initial")]
    operations = []
