"""The task ledger: what django-celery-results' `TaskResult` does not say about a task.

Every task sent through the task-queue port gets its `TaskRecord` in the caller's transaction:
its name and arguments, where it goes, when it may run, what triggered it. The record doubles as
the transactional outbox: until `published_at` is set, the broker does not have the message yet
and the relay publishes it. Its `TaskResult` row (status PENDING) is written with the publish
mark, off the caller's path (tasks_app.ledger.published), or by the worker that starts it,
whichever comes first. Each run of the task on a worker (the first, a retry, a redelivery after
a worker died) is a `TaskAttempt`.

Both tables join `TaskResult` on `task_id` without a database constraint: the result row may be
written after the record, or by a worker alone (a task sent outside the port), and retention
deletes all three by task id in batches (tasks_app.services.history_retention).
"""

from __future__ import annotations

from celery import states
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django_celery_results.models import TaskResult


class Trigger(models.TextChoices):
    ADMIN = "admin", "admin"
    API = "api", "API"
    SCHEDULE = "schedule", "schedule"
    COMMAND = "command", "command"
    TASK = "task", "task"  # queued by another task on a worker
    RETRY = "retry", "retry"  # an operator's retry of an earlier task
    SERVICE = "service", "service"  # application code outside a request, command or task


class TaskRecord(models.Model):
    """One task from its enqueue: where it goes, when it may run, who or what asked for it."""

    result = models.OneToOneField(
        TaskResult,
        to_field="task_id",
        db_column="task_id",
        primary_key=True,
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="record",
    )
    # The call, as the port was given it (JSON text, as `TaskResult` keeps it): the relay
    # publishes from here, and the result row is written from here.
    task_name = models.CharField(max_length=255, db_default="")
    task_args = models.TextField(db_default="[]")
    task_kwargs = models.TextField(db_default="{}")
    schedule = models.CharField(
        max_length=255,
        blank=True,
        db_default="",
        help_text="The schedule that sent it (beat's or run now's), if any.",
    )
    queue = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="The queue the task was sent to (the route's, when the caller named none).",
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
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="The signed-in user whose request or action queued the task.",
    )
    trigger_label = models.CharField(
        max_length=200,
        blank=True,
        help_text="What queued it: the schedule, the command, the service or the request.",
    )
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When the broker accepted the message; empty: not yet."
    )
    publish_failures = models.PositiveIntegerField(default=0)
    last_publish_error = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        # Few indexes and no foreign-key constraints on purpose: the record is written in the
        # caller's transaction, every index is a page its commit writes, and a constraint's check
        # at commit locks the users table (a migration holding it would stall every enqueue).
        # Lists read the history by `TaskResult.date_created` and filter the records they join;
        # deleting a user sets the two user columns to NULL (Django's SET_NULL, by a scan).
        indexes = [
            # The relay's question, answered from a small index: what is not published yet?
            models.Index(
                fields=["created_at"],
                condition=models.Q(published_at__isnull=True, cancelled_at__isnull=True),
                name="taskrecord_unpublished",
            ),
        ]

    def __str__(self) -> str:
        return str(self.result_id)

    def pending_result(self) -> TaskResult:
        """The task's result row as it stands until a worker starts it (PENDING), unsaved.
        (The publish marks write the same row in SQL: tasks_app.ledger.published._MARK.)"""
        return TaskResult(
            task_id=self.result_id,
            task_name=self.task_name,
            task_args=self.task_args,
            task_kwargs=self.task_kwargs,
            periodic_task_name=self.schedule or None,
            status=states.PENDING,
            content_type="application/json",
            content_encoding="utf-8",
            date_created=self.created_at,
            date_done=self.created_at,  # saving sets it anew (auto_now)
        )


class Outcome(models.TextChoices):
    RUNNING = "running", "running"
    SUCCESS = "success", "succeeded"
    FAILURE = "failure", "failed"
    RETRY = "retry", "failed, retry scheduled"
    IGNORED = "ignored", "ignored"  # the task was cancelled before this attempt began
    LOST = "lost", "lost (worker died)"  # ended by tasks_app.ledger.lost: nothing ran it to its end


class TaskAttempt(models.Model):
    """One run of a task on a worker. An attempt whose worker died is `lost` (tasks_app.ledger.lost
    ends it within a minute); until then, one still `running` that is not the task's last one was
    lost too: its worker died and the message was delivered again."""

    task_id = models.CharField(max_length=255)  # indexed by the unique (task_id, number)
    task_name = models.CharField(max_length=255, blank=True, help_text="For counts by task.")
    number = models.PositiveSmallIntegerField()
    worker = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    wait_seconds = models.FloatField(
        null=True, blank=True, help_text="From queued (or due) to started."
    )
    runtime_seconds = models.FloatField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.CharField(max_length=500, blank=True, help_text="Exception type and message.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_id", "number"], name="taskattempt_unique_number")
        ]
        indexes = [
            models.Index(fields=["started_at"], name="taskattempt_started"),
            # The lost-attempt sweep's question, every minute: what is still running?
            models.Index(
                fields=["worker"],
                condition=models.Q(outcome="running"),
                name="taskattempt_running",
            ),
        ]
        ordering = ["task_id", "number"]

    def __str__(self) -> str:
        return f"{self.task_id} #{self.number}"
