"""The user changelist's filters: UserFilterSet's own query parameters, applied by it, so the
changelist, the list API and a report select the same users."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.filters import FacetsMixin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.filters import filter_users
from accounts.models import Role, User

# Query parameters of a changelist that are no filter: its ordering, page and "show all" link.
CHANGELIST_BOOKKEEPING = {ORDER_VAR, PAGE_VAR, "all"}


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
