"""The API's one pagination style, and a helper for `APIView`s that list."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView


class StrictPageSize:
    """`page_size=M` (at most 200); one that is no integer is a 400 (the schema says integer)
    rather than silently the default, as DRF would have it."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.getlist(self.page_size_query_param)
        if any(not value.lstrip("-").isdigit() for value in raw):
            raise ValidationError({self.page_size_query_param: ["Must be a whole number."]})
        return super().get_page_size(request)


class PagePagination(StrictPageSize, PageNumberPagination):
    """`?page=N&page_size=M`; a page past the end is a 404 like DRF's."""

    def get_page_number(self, request: Request, paginator) -> int | str:
        """As DRF's, but an empty `page=` is a 400 (the schema says integer) rather than page 1."""
        if request.query_params.get(self.page_query_param) == "":
            raise ValidationError({self.page_query_param: ["Must be a whole number."]})
        return super().get_page_number(request, paginator)


class NewestFirstPagination(StrictPageSize, CursorPagination):
    """`?cursor=...&page_size=M`, newest first, for lists that grow to millions of rows: no COUNT,
    and a page does not shift while new rows arrive. An unknown cursor is a 404 like DRF's."""

    ordering = ("-date_created", "-id")


def paginated_response(
    *,
    queryset: QuerySet,
    serializer_class: type[Serializer],
    request: Request,
    view: APIView,
) -> Response:
    """One page of `queryset` as `{count, next, previous, results}`; the serializer gets the
    request in its context, as DRF's generic views give it (for absolute URLs)."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    context = {"request": request, "view": view}
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context).data)
