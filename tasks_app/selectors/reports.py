"""Which users a report covers, and the SQL that shapes them into the report's CSV columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Case, F, Q, QuerySet, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat

from accounts.models import User
from accounts.selectors import user_list

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
