"""CSV reports of users: one row per request, so every entry point can show it from the start."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone


class UserReport(models.Model):
    """A requested CSV export of users. The file lives in storage; the task result points here."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="user_reports",
        help_text="Who asked for it; empty when it came from manage.py without --requested-by.",
    )
    filters = models.JSONField(
        default=dict,
        blank=True,
        help_text="Validated filters: is_active, role, created_after, created_before.",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    rows_written = models.PositiveBigIntegerField(
        default=0, help_text="Rows written so far; saved every few thousand rows."
    )
    total_rows = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Rows expected, for the percentage: an exact count, or the planner's estimate on "
            "Postgres; the exact row count once completed."
        ),
    )
    row_count = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Data rows in the finished file (header excluded)."
    )
    file = models.FileField(
        upload_to="reports/%Y/%m/", blank=True, max_length=255, help_text="The CSV in storage."
    )
    task_id = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="Celery task id of the export."
    )
    error = models.TextField(blank=True, help_text="Why the report failed.")
    retries = models.PositiveIntegerField(
        default=0, help_text="Times a failed report was generated again (the retry action)."
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who cancelled it while it was pending.",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "report"

    def __str__(self) -> str:
        return f"report {str(self.pk)[:8]} ({self.status})"

    @property
    def duration(self) -> timedelta | None:
        """Time from the worker's start to the end (or until now while running)."""
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def progress_percent(self) -> int:
        """0-100; a running report never shows 100 before its file is saved."""
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.rows_written * 100 // self.total_rows)

    def is_in_progress(self) -> bool:
        """Not finished yet: a worker may still write it (or has yet to start)."""
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    def is_completed(self) -> bool:
        return self.status == self.Status.COMPLETED and bool(self.file)

    def file_basename(self) -> str:
        return PurePosixPath(self.file.name).name if self.file else ""
