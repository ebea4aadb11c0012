"""The transactional outbox: a task to publish, written in the caller's transaction."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class OutboxMessage(models.Model):
    """A task that was enqueued in a committed transaction and is not yet known to be published.

    The adapter deletes the row once the broker has the message; a row that stays (the broker was
    down) is published by `manage.py relay_outbox` or the `tasks_app.relay_outbox` task.
    """

    task_id = models.CharField(max_length=36, unique=True, help_text="The id given to the caller.")
    task_name = models.CharField(max_length=200)
    # Task arguments are JSON primitives; Django's encoder also turns a stray UUID or datetime into
    # the string a task would get anyway.
    args = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    queue = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="The queue the caller asked for; empty: the task's route decides.",
    )
    eta = models.DateTimeField(
        null=True, blank=True, help_text="Run not before (a countdown is stored as its deadline)."
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="Other publish options: priority, expires (a deadline), headers, exchange, "
        "routing_key.",
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Failed publish attempts.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}]"
