"""Admin page for the email log: the read-only record of what was sent."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from tasks_app.admin.base import ReadOnlyAdmin
from tasks_app.models import EmailLog


@admin.register(EmailLog)
class EmailLogAdmin(ReadOnlyAdmin):
    list_display = ["id", "recipient", "subject", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "created_at", "sent_at"]
    search_fields = ["recipient", "subject", "message_id", "task_id", "idempotency_key"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over a large log on every page
    fieldsets = [
        (None, {"fields": ["recipient", "subject", "status", "attempts", "last_error"]}),
        ("Delivery", {"fields": ["task_id", "message_id", "idempotency_key", "claimed_until"]}),
        ("Dates", {"fields": ["created_at", "sent_at", "updated_at"]}),
        ("Content", {"classes": ["collapse"], "fields": ["body_text", "body_html"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    def get_queryset(self, request: HttpRequest):
        # The list never shows the bodies: don't load them for 50 rows.
        return super().get_queryset(request).defer("body_text", "body_html")
