"""Which reports a person sees (the list API), which users a report covers, and the SQL that
shapes them into the report's CSV columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Case, F, Q, QuerySet, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat

from accounts.filters import UserFilterForm, moment_range
from accounts.models import User
from accounts.selectors import user_list
from tasks_app.models import UserReport

# Who sees every report (else only their own): the permission of the report admin and its API.
VIEW_ALL_PERMISSION = "tasks_app.view_userreport"


class ReportFilterSet(django_filters.FilterSet):
    """The one filter of reports: the list API's query parameters."""

    status = django_filters.ChoiceFilter(
        choices=UserReport.Status.choices, help_text="Only reports in this status."
    )
    requested_by = django_filters.CharFilter(
        field_name="requested_by__username",
        lookup_expr="iexact",
        max_length=150,
        help_text="Only reports requested by this username (any case).",
    )
    created_after, created_before = moment_range("created_at", "Requested")

    class Meta:
        model = UserReport
        fields: list[str] = []
        form = UserFilterForm  # the same rule: created_before later than created_after


def reports_visible_to(user: Any) -> QuerySet[UserReport]:
    """Every report for a reports admin (staff with the view permission, as the admin site asks),
    else only those the user requested."""
    reports = UserReport.objects.all()
    if user.is_staff and user.has_perm(VIEW_ALL_PERMISSION):
        return reports
    return reports.filter(requested_by=user)


def report_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[UserReport]:
    """The reports `user` sees, narrowed by ReportFilterSet (unknown keys ignored: the API
    refuses them first), newest first with the id as a tie-break for stable pages; a
    ValidationError names each bad filter. Requester and canceller come in the same query."""
    filterset = ReportFilterSet(
        data=filters or {},
        queryset=reports_visible_to(user)
        .select_related("requested_by", "cancelled_by")
        .order_by("-created_at", "-id"),
    )
    if not filterset.is_valid():
        raise ValidationError({field: list(errors) for field, errors in filterset.errors.items()})
    return filterset.qs


# The seed's columns, in the seed's order.
CSV_HEADER = ("ID", "Username", "Role", "Active", "Created At")

# OWASP "CSV injection": a cell starting with one of these is run as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def users_for_report(filters: Mapping[str, Any]) -> QuerySet[User]:
    """The users of the list API with the same filters (UserFilterSet's data), oldest first with
    the id as a tie-break: a stable order for every export path."""
    return user_list(filters=filters).order_by("created_at", "id")


def report_rows(filters: Mapping[str, Any]) -> QuerySet:
    """The portable path: raw column values, streamed by the caller with `.iterator()`."""
    return users_for_report(filters).values_list(
        "id", "username", "role", "is_active", "created_at"
    )


def report_rows_postgres_sql(filters: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """A SELECT whose text columns are exactly the CSV cells, for `COPY (...) TO STDOUT`.

    COPY's own CSV output would write booleans as t/f and timestamps with `+00`; shaping the
    values here keeps COPY's speed and gives the seed's Python `csv` cells: `True`/`False`,
    `datetime.isoformat()` (microseconds only when non-zero) and formula cells prefixed with `'`.
    """
    created = '"accounts_user"."created_at"'
    # Constant SQL (no input reaches it): Django has no expression for to_char's formats.
    iso_created_at = RawSQL(  # noqa: S611
        f"to_char({created} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN date_trunc('second', {created}) = {created} THEN ''"
        f" ELSE to_char({created} AT TIME ZONE 'UTC', '.US') END || '+00:00'",
        (),
        output_field=TextField(),
    )
    formula = Q(username__regex="^[" + "".join(FORMULA_PREFIXES).replace("-", "") + "-]")
    rows = (
        users_for_report(filters)
        .annotate(
            c_id=Cast("id", TextField()),
            c_username=Case(
                When(formula, then=Concat(Value("'"), F("username"))),
                default=F("username"),
                output_field=TextField(),
            ),
            c_active=Case(When(is_active=True, then=Value("True")), default=Value("False")),
            c_created_at=iso_created_at,
        )
        .values_list("c_id", "c_username", "role", "c_active", "c_created_at")
    )
    sql, params = rows.query.sql_with_params()
    return sql, tuple(params)
