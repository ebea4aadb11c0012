"""The admin's paginator for tables of millions of rows."""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections


class EstimatedCountPaginator(Paginator):
    """The planner's row estimate instead of COUNT(*) for an unfiltered list on Postgres (a
    COUNT over a million rows reads them all); an exact count once any filter applies."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None or query.where or connections[queryset.db].vendor != "postgresql":
            return super().count
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            estimate = cursor.fetchone()[0]
        # Never analysed (-1) or small: the exact count is cheap then.
        return estimate if estimate > 10_000 else super().count
