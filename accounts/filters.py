"""The one filter over users: the user list API, the user admin's changelist, and every way of
asking for a report (REST, `manage.py generate_user_report`, the admin action) narrow users with
`UserFilterSet`, so they accept the same input, refuse it with the same messages, and select the
same users. A report stores `user_filters_validate()`'s JSON data, which the worker feeds to the
same FilterSet again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from accounts.models import Role, User


class RoleField(django_filters.fields.ChoiceField):
    """A role in any case (`admin` is ADMIN): the command line and JSON bodies are typed by hand."""

    def to_python(self, value: Any) -> str:
        return super().to_python(value).strip().upper()


class StrictBooleanField(forms.Field):
    """true/false, 1/0, yes/no or a JSON boolean; anything else is an error, not "any" (Django's
    NullBooleanField reads `maybe` as no filter at all)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class MomentField(forms.DateTimeField):
    """An ISO 8601 date or datetime; a naive one is in settings.TIME_ZONE. It must also exist in
    UTC, the database's zone (`9999-12-31T23:59:59-23:59` does not)."""

    def to_python(self, value: Any) -> datetime | None:
        if value not in self.empty_values and not isinstance(value, str | date):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        moment = super().to_python(value)
        if moment is not None:
            try:
                moment.astimezone(UTC)
            except OverflowError:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return moment


class RoleFilter(django_filters.ChoiceFilter):
    field_class = RoleField


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class MomentFilter(django_filters.DateTimeFilter):
    field_class = MomentField

    def filter(self, qs: QuerySet, value: datetime | None) -> QuerySet:
        """Queried in UTC: Postgres refuses offsets past 15:59, which Python accepts."""
        return super().filter(qs, value.astimezone(UTC) if value else value)


def moment_range(field_name: str, verb: str) -> tuple[MomentFilter, MomentFilter]:
    """`created_after` (inclusive) and `created_before` (exclusive) on one date field, for every
    list that filters by when its rows were made."""
    return (
        MomentFilter(
            field_name=field_name,
            lookup_expr="gte",
            help_text=f"{verb} at or after this ISO 8601 date or datetime (inclusive).",
        ),
        MomentFilter(
            field_name=field_name,
            lookup_expr="lt",
            help_text=f"{verb} before this ISO 8601 date or datetime (exclusive).",
        ),
    )


class UserFilterForm(forms.Form):
    """The rule across fields: a creation range must not be empty (nor backwards)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        after, before = cleaned.get("created_after"), cleaned.get("created_before")
        if after and before and after >= before:
            self.add_error("created_before", "Must be later than created_after.")
        return cleaned


class UserFilterSet(django_filters.FilterSet):
    role = RoleFilter(
        choices=Role.choices, help_text="Only this role: USER, ADMIN or SUPER_ADMIN (any case)."
    )
    is_active = StrictBooleanFilter(help_text="Only active (true) or inactive (false) users.")
    created_after, created_before = moment_range("created_at", "Created")
    search = django_filters.CharFilter(
        method="filter_search", max_length=254, help_text="Part of the username or email."
    )

    class Meta:
        model = User
        fields: list[str] = []
        form = UserFilterForm

    def filter_search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        return queryset.filter(Q(username__icontains=value) | Q(email__icontains=value))


def filter_users(*, queryset: QuerySet[User], filters: Mapping[str, Any]) -> QuerySet[User]:
    """`queryset` narrowed by `filters` (unknown keys ignored: the API refuses them first),
    or a ValidationError naming each bad filter."""
    filterset = UserFilterSet(data=filters, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError(_messages(filterset))
    return filterset.qs


def user_filters_validate(filters: object) -> dict[str, Any]:
    """The filters as JSON primitives (what a report stores), or a ValidationError naming each bad
    or unknown key: a report silently wider than asked would be wrong. None means no filter."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ValidationError("Filters must be an object.", code="invalid")
    filterset = UserFilterSet(data=filters)
    known = ", ".join(filterset.filters)
    unknown = sorted(set(filters) - set(filterset.filters))
    errors = {key: [f"Unknown filter; use one of: {known}."] for key in unknown}
    if not filterset.is_valid():
        errors.update(_messages(filterset))
    if errors:
        raise ValidationError(errors)
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in filterset.form.cleaned_data.items()
        if value not in (None, "")
    }


def _messages(filterset: UserFilterSet) -> dict[str, list[str]]:
    return {field: list(messages) for field, messages in filterset.errors.items()}
