"""Admin page for the email log: the read-only record of what was sent; a failed email can be
sent again and a queued one cancelled, through the email services."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize

from tasks_app.admin.base import NamedListAdmin, ReadOnlyAdmin
from tasks_app.models import EmailLog
from tasks_app.services.emails.actions import EmailActionRefused, email_cancel, email_retry

REFUSALS_SHOWN = 10  # a page of 50 refusals would bury the one line that matters


@admin.register(EmailLog)
class EmailLogAdmin(NamedListAdmin, ReadOnlyAdmin):
    list_display = ["id", "recipient", "subject", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "created_at", "sent_at"]
    search_fields = ["recipient", "subject", "message_id", "task_id", "idempotency_key"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over a large log on every page
    actions = ["retry", "cancel"]
    fieldsets = [
        (None, {"fields": ["recipient", "subject", "status", "attempts", "last_error"]}),
        ("Delivery", {"fields": ["task_id", "message_id", "idempotency_key", "claimed_until"]}),
        ("Dates", {"fields": ["created_at", "sent_at", "updated_at"]}),
        (
            "Retried or cancelled",
            {"fields": ["retried_by", "retried_at", "cancelled_by", "cancelled_at"]},
        ),
        ("Content", {"classes": ["collapse"], "fields": ["body_text", "body_html"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    def get_queryset(self, request: HttpRequest):
        # The list never shows the bodies: don't load them for 50 rows.
        return super().get_queryset(request).defer("body_text", "body_html")

    @admin.action(
        description="Send the selected failed emails again (same Message-ID)",
        permissions=["act"],
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[EmailLog]) -> None:
        self._apply(request, queryset, email_retry, done="queued again", refused="not retried")

    @admin.action(description="Cancel the selected queued emails", permissions=["act"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[EmailLog]) -> None:
        self._apply(request, queryset, email_cancel, done="cancelled", refused="not cancelled")

    def has_act_permission(self, request: HttpRequest) -> bool:
        """Sending again or cancelling changes the email: it needs the change permission that
        the read-only base otherwise never grants."""
        return request.user.has_perm("tasks_app.change_emaillog")

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[EmailLog],
        action: Callable[..., EmailLog],
        *,
        done: str,
        refused: str,
    ) -> None:
        """Run `action` on each row; report how many it changed and why the others were refused."""
        changed, reasons = 0, []
        for email_log in queryset.only("pk", "status", "claimed_until").order_by("pk"):
            try:
                action(email_log, by=request.user)
                changed += 1
            except EmailActionRefused as exc:
                reasons.append(exc.message)
        if changed:
            self.message_user(
                request, f"{changed} email{pluralize(changed)} {done}.", level=messages.SUCCESS
            )
        if reasons:
            shown = "; ".join(reasons[:REFUSALS_SHOWN])
            more = len(reasons) - REFUSALS_SHOWN
            shown += f"; and {more} more" if more > 0 else ""
            self.message_user(
                request,
                f"{len(reasons)} email{pluralize(len(reasons))} {refused}: {shown}.",
                level=messages.WARNING,
            )
