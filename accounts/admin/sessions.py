"""Admin for API sessions: list, filter by expiry, revoke."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import AuthSession
from accounts.services import (
    auth_sessions_revoke,
)


class ExpiredFilter(admin.SimpleListFilter):
    title = "expired"
    parameter_name = "expired"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset: QuerySet[AuthSession]) -> QuerySet[AuthSession]:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "no":
            return queryset.filter(expires_at__gt=now)
        return queryset


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    """Read-only: sessions are opened by logging in; the one change is to revoke them."""

    list_display = (
        "user",
        "created_at",
        "expires_at",
        "expired",
        "last_used_at",
        "ip_address",
        "user_agent",
    )
    list_filter = (ExpiredFilter, "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "ip_address")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    # The token hash is never shown: it is as good as the token for anyone who can query by it.
    fields = ("user", "created_at", "expires_at", "last_used_at", "user_agent", "ip_address")
    readonly_fields = fields
    actions = ("revoke",)

    @admin.display(boolean=True, description="expired")
    def expired(self, session: AuthSession) -> bool:
        return session.is_expired()

    def has_view_permission(self, request: HttpRequest, obj: AuthSession | None = None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuthSession | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuthSession | None = None) -> bool:
        return False  # revoke instead: the same deletion, named for what it means

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    @admin.action(description="Revoke selected sessions (log them out)", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[AuthSession]) -> None:
        revoked = auth_sessions_revoke(sessions=queryset)
        self.message_user(
            request,
            ngettext("%(n)d session revoked.", "%(n)d sessions revoked.", revoked) % {"n": revoked},
            messages.SUCCESS,
        )
