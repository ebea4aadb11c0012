from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = "Background tasks"

    def ready(self) -> None:
        from tasks_app.signals import create_default_schedules

        # After every `migrate` (and a fresh database), with no manual step.
        post_migrate.connect(create_default_schedules, sender=self)
