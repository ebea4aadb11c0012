"""The admin's paginator for tables of millions of rows."""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections


class EstimatedCountPaginator(Paginator):
    """No COUNT(*) over a million rows (it reads them all): the planner's estimate for an
    unfiltered list on Postgres, and for a filtered one a count that stops at `COUNT_UP_TO`
    (past it, the pages shown end there; a narrower filter finds the rest)."""

    COUNT_UP_TO = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None:
            return super().count
        if query.where or connections[queryset.db].vendor != "postgresql":
            return queryset[: self.COUNT_UP_TO].count()
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            estimate = cursor.fetchone()[0]
        # Never analysed (-1) or small: the exact count is cheap then.
        return estimate if estimate > self.COUNT_UP_TO else super().count
