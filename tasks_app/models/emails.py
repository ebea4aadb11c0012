"""The email log: one row per email the application sends, the unit of idempotency."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_message_id() -> str:
    """A Message-ID fixed when the row is created, so every attempt (and any duplicate that slips
    through the window between the SMTP server's 250 and our commit) carries the same one."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("<> ") or "localhost"
    return f"<{uuid.uuid4().hex}.emaillog@{domain}>"


class EmailLog(models.Model):
    """An email to send or sent. Tasks carry only its id: the address stays in the database."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    recipient = models.EmailField(help_text="The one address the email goes to.")
    subject = models.CharField(max_length=255)
    body_text = models.TextField(blank=True, help_text="The text/plain part.")
    body_html = models.TextField(blank=True, help_text="The text/html part (already escaped).")
    status = models.CharField(
        max_length=9,
        choices=Status.choices,
        default=Status.QUEUED,
        help_text=(
            "queued until the SMTP server accepts it (sent) or it fails for good (failed); "
            "cancelled by a person before it was sent."
        ),
    )
    attempts = models.PositiveIntegerField(
        default=0, help_text="SMTP attempts so far, counted in the database across redeliveries."
    )
    last_error = models.TextField(blank=True, help_text="The last failure, as the server said it.")
    task_id = models.CharField(
        max_length=36, blank=True, db_index=True, help_text="The send_email task that sends it."
    )
    message_id = models.CharField(
        max_length=255,
        unique=True,
        default=new_message_id,
        editable=False,
        help_text="The Message-ID header, the same on every attempt: duplicates are recognisable.",
    )
    idempotency_key = models.CharField(
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text="Set for emails that must exist once (e.g. welcome:<user id>).",
    )
    claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Lease of the attempt in progress; another delivery waits until it expires.",
    )
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who last sent the failed email again (with a fresh attempt budget).",
    )
    retried_at = models.DateTimeField(null=True, blank=True, help_text="When it was last retried.")
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who cancelled the queued email.",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="emaillog_status_created")]
        verbose_name = "email"
        verbose_name_plural = "email log"

    def __str__(self) -> str:
        return f"email {self.pk} ({self.status})"

    def is_being_sent(self) -> bool:
        """An attempt holds the lease: the server may be receiving it right now."""
        return self.claimed_until is not None and self.claimed_until > timezone.now()
