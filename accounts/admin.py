"""Admin for users and their API sessions. Writes go through `accounts.services`.

Admins (role ADMIN) manage plain users here as they can through the API; only super admins
change admins. The role is the one editable privilege: is_staff/is_superuser follow from it.

The user changelist filters and searches with the list API's UserFilterSet, under its parameter
names, so "Generate CSV report" passes the changelist's query string to the report service as it
is: what the admin sees listed is what the report holds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.filters import FacetsMixin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.contrib.auth import password_validation
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Count, Q, QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import ngettext

from accounts.filters import filter_users
from accounts.models import AuthSession, Role, User
from accounts.services import (
    UPDATABLE_FIELDS,
    auth_sessions_revoke,
    user_check_role_change,
    user_check_update,
    user_create,
    user_set_password,
    user_update,
    user_validate,
    users_set_active,
)
from project.errors import ApplicationError
from tasks_app.services.reports.requests import report_request

# Query parameters of a changelist that are no filter: its ordering, page and "show all" link.
CHANGELIST_BOOKKEEPING = {ORDER_VAR, PAGE_VAR, "all"}


class _ServiceRulesMixin:
    """Validate with the services' rules instead of ModelForm's own model validation, so that
    the admin accepts exactly what `user_create`/`user_update` accept, and says why not."""

    actor: User | None = None  # set by UserAdmin.get_form: the rules depend on who is asking

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields.get("role")
        if role is not None and self.actor is not None and self.actor.role != Role.SUPER_ADMIN:
            role.choices = [(Role.USER, Role.USER.label)]  # offer only what may be granted

    def _post_clean(self) -> None:
        if self._errors:  # fix the fields first; the rules would repeat their complaints
            return
        try:
            self.instance = construct_instance(self, self.instance, self._service_fields)
            self._check_rules()
        except ApplicationError as exc:
            self._add_errors(exc.errors or {NON_FIELD_ERRORS: [exc.message]})
        except ValidationError as exc:
            self._add_errors(exc.message_dict)

    def _add_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages_ in errors.items():
            field = {"password": "password1"}.get(field, field)
            self.add_error(field if field in self.fields else None, messages_)

    def _check_rules(self) -> None:
        raise NotImplementedError


class UserAddForm(_ServiceRulesMixin, forms.ModelForm):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password confirmation",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="The same password again, to catch typing mistakes.",
    )
    _service_fields = ("username", "email", "role")

    class Meta:
        model = User
        fields = ("username", "email", "role")

    def _check_rules(self) -> None:
        password1, password2 = (
            self.cleaned_data.get("password1"),
            self.cleaned_data.get("password2"),
        )
        if password1 and password2 and password1 != password2:
            raise ValidationError({"password2": ["The two password fields didn't match."]})
        user_check_role_change(actor=self.actor, role=self.instance.role)
        self.instance.email = User.objects.normalize_email(self.instance.email)
        user_validate(user=self.instance, password=password1)


class UserChangeForm(_ServiceRulesMixin, DjangoUserChangeForm):
    _service_fields = UPDATABLE_FIELDS

    class Meta:
        model = User
        fields = ("username", "email", "password", "role", "is_active", "groups")

    def _check_rules(self) -> None:
        stored = User.objects.get(pk=self.instance.pk)
        user_check_update(actor=self.actor, user=stored, data=self.changes())
        user_validate(user=self.instance)

    def changes(self) -> dict[str, Any]:
        return {f: self.cleaned_data[f] for f in UPDATABLE_FIELDS if f in self.changed_data}


class PasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saved through `user_set_password`: the password is
    validated and the user's API and admin sessions end. Who may change whose password is the
    admin's change permission (UserAdmin.has_change_permission), checked before the form."""

    def save(self, commit: bool = True) -> User:
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data["password1"] if usable else None
        return user_set_password(user=self.user, password=password)


class _UserFilterSetFilter(FacetsMixin, admin.ListFilter):
    """A changelist filter whose query parameters are UserFilterSet's own, applied by it."""

    parameters: tuple[str, ...]

    def __init__(self, request, params, model, model_admin) -> None:
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    def links(self) -> list[tuple[str, dict[str, str]]]:
        """(title, query parameters) of each choice, the first one being "all"."""
        raise NotImplementedError

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        try:
            return filter_users(queryset=queryset, filters=self.used_parameters)
        except ValidationError as exc:  # the changelist shows its "bad filter" page
            raise IncorrectLookupParameters(exc) from exc

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet[User]) -> dict[str, Count]:
        return {
            f"{i}__c": Count(
                pk_attname, filter=Q(pk__in=filter_users(queryset=filtered_qs, filters=params))
            )
            for i, (_title, params) in enumerate(self.links())
            if params
        }

    def choices(self, changelist):
        counts = self.get_facet_queryset(changelist) if changelist.add_facets else {}
        for i, (title, params) in enumerate(self.links()):
            count = counts.get(f"{i}__c")
            yield {
                "selected": self.used_parameters == params,
                "query_string": changelist.get_query_string(params, remove=self.parameters),
                "display": title if count is None else f"{title} ({count})",
            }


class RoleFilter(_UserFilterSetFilter):
    title = "role"
    parameters = ("role",)

    def links(self) -> list[tuple[str, dict[str, str]]]:
        return [("All", {}), *((label, {"role": value}) for value, label in Role.choices)]


class ActiveFilter(_UserFilterSetFilter):
    title = "active"
    parameters = ("is_active",)

    def links(self) -> list[tuple[str, dict[str, str]]]:
        return [("All", {}), ("Yes", {"is_active": "true"}), ("No", {"is_active": "false"})]


class CreatedFilter(_UserFilterSetFilter):
    title = "created"
    parameters = ("created_after", "created_before")

    def links(self) -> list[tuple[str, dict[str, str]]]:
        today = timezone.localdate()
        since = {
            "Today": today,
            "Past 7 days": today - timedelta(days=7),
            "This month": today.replace(day=1),
            "This year": today.replace(month=1, day=1),
        }
        return [
            ("Any date", {}),
            *((title, {"created_after": day.isoformat()}) for title, day in since.items()),
        ]


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
