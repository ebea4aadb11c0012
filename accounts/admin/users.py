"""Admin for users. Writes go through `accounts.services`.

Admins (role ADMIN) manage plain users here as they can through the API; only super admins
change admins. The role is the one editable privilege: is_staff/is_superuser follow from it.

The user changelist filters and searches with the list API's UserFilterSet, under its parameter
names, so "Generate CSV report" passes the changelist's query string to the report service as it
is: what the admin sees listed is what the report holds.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from accounts.admin.filters import CHANGELIST_BOOKKEEPING, ActiveFilter, CreatedFilter, RoleFilter
from accounts.admin.forms import PasswordChangeForm, UserAddForm, UserChangeForm
from accounts.filters import filter_users
from accounts.models import Role, User
from accounts.services import (
    user_create,
    user_update,
    users_set_active,
)
from tasks_app.services.reports.requests import report_request


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    change_password_form = PasswordChangeForm
    list_display = (
        "username",
        "email",
        "role",
        "is_active",
        "is_staff",
        "created_at",
        "last_login",
    )
    list_filter = (RoleFilter, ActiveFilter, CreatedFilter)
    search_fields = ("username", "email")  # shows the search box; get_search_results searches
    search_help_text = "Part of the username or email."
    ordering = ("-created_at",)
    readonly_fields = ("is_staff", "is_superuser", "created_at", "last_login")
    filter_horizontal = ("groups",)
    fieldsets = (
        (None, {"fields": ("username", "email", "password")}),
        (
            "Role and access",
            {
                "fields": ("role", "is_active", "is_staff", "is_superuser"),
                "description": "Staff and superuser follow from the role and cannot be set apart.",
            },
        ),
        ("Dates", {"fields": ("created_at", "last_login")}),
        (
            "Extra permissions",
            {"fields": ("groups",), "classes": ("collapse",)},
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "role", "password1", "password2"),
                "description": "The new user is sent a welcome email.",
            },
        ),
    )
    actions = ("activate", "deactivate", "generate_csv_report")

    # Admins manage users here as they do through the API (accounts.permissions.IsAdmin);
    # only super admins change admins, or delete anyone.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        return obj is None or request.user.is_superuser or obj.role == Role.USER

    def has_report_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request) and request.user.has_perm(
            "tasks_app.add_userreport"
        )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[User], search_term: str):
        """The list API's search (UserFilterSet's `search`), so that a report reproduces it."""
        if not search_term:
            return queryset, False
        try:
            return filter_users(queryset=queryset, filters={"search": search_term}), False
        except ValidationError as exc:
            raise IncorrectLookupParameters(exc) from exc

    def get_form(self, request: HttpRequest, obj: User | None = None, **kwargs: Any):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> User:
        if change:
            return super().save_form(request, form, change)
        # The one way users are created: validation, transaction and the welcome email.
        data = form.cleaned_data
        return user_create(
            username=data["username"],
            email=data["email"],
            password=data["password1"],
            role=data["role"],
            created_by=request.user,
        )

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool):
        if change:
            user_update(user=obj, actor=request.user, data=form.changes())

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        if change:  # the add form has no related fields, and user_create saved the user
            super().save_related(request, form, formsets, change)

    @admin.action(description="Activate selected users", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(
        description="Deactivate selected users (ends their sessions)", permissions=["change"]
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, active=False)

    @admin.action(description="Generate CSV report of the filtered users", permissions=["report"])
    def generate_csv_report(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Report on the changelist's filters and search (every page of them), not on the ticked
        rows: the checkboxes only start the action. A link to the pending report follows."""
        params = request.GET.dict()
        filters = {k: v for k, v in params.items() if k not in CHANGELIST_BOOKKEEPING}
        if search := filters.pop(SEARCH_VAR, ""):
            filters["search"] = search
        try:
            report = report_request(requested_by=request.user, filters=filters)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), level=messages.ERROR)
            return
        self.message_user(
            request,
            format_html(
                'Report <a href="{}">{}</a> queued for the users matching {}.',
                reverse("admin:tasks_app_userreport_change", args=[report.pk]),
                str(report.pk)[:8],
                ", ".join(f"{k}={v}" for k, v in report.filters.items()) or "no filter (all users)",
            ),
            level=messages.SUCCESS,
        )

    def _set_active(self, request: HttpRequest, queryset: QuerySet[User], *, active: bool) -> None:
        selected = queryset.count()
        changed = users_set_active(users=queryset, active=active, actor=request.user)
        verb = "activated" if active else "deactivated"
        self.message_user(
            request,
            ngettext("%(n)d user %(verb)s.", "%(n)d users %(verb)s.", changed)
            % {"n": changed, "verb": verb},
            messages.SUCCESS,
        )
        if skipped := selected - changed:
            self.message_user(
                request,
                ngettext(
                    "%(n)d user skipped: already %(verb)s, yourself, or an admin beyond your role.",
                    "%(n)d users skipped: already %(verb)s, yourself, or admins beyond your role.",
                    skipped,
                )
                % {"n": skipped, "verb": verb},
                messages.WARNING,
            )
