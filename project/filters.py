"""What the API's list endpoints share about django-filter FilterSets."""

from __future__ import annotations

import django_filters
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

# The query parameters a list's paginator reads (project.pagination), whichever it is.
_PAGING = ("page_query_param", "page_size_query_param", "cursor_query_param")


def list_filters(
    request: Request, filterset: type[django_filters.FilterSet], view: APIView
) -> QueryDict:
    """The query string of a list, once every parameter in it is one of `filterset`'s filters or
    the list's paging: any other is a 400 naming it, since a misspelt filter (`?task=` for
    `?task_name=`) would list everything, and a script acting on the list would act on all."""
    paging = {getattr(view.pagination_class, name, None) for name in _PAGING}
    known = (set(filterset.base_filters) | paging | {api_settings.URL_FORMAT_OVERRIDE}) - {None}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        message = f"Unknown query parameter; use one of: {', '.join(sorted(known))}."
        raise ValidationError({name: [message] for name in unknown})
    return request.query_params


def filter_parameters(filterset: type[django_filters.FilterSet]) -> list[OpenApiParameter]:
    """The FilterSet's filters as documented query parameters: the schema follows the one filter."""
    types = {
        django_filters.BooleanFilter: OpenApiTypes.BOOL,
        # Empty means no bound, as a form's empty field does.
        django_filters.DateTimeFilter: {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]
        },
    }
    return [
        OpenApiParameter(
            name,
            next((t for cls, t in types.items() if isinstance(spec, cls)), OpenApiTypes.STR),
            OpenApiParameter.QUERY,
            description=spec.extra.get("help_text", ""),
            # Empty means no filter, as a form's empty choice does.
            enum=["", *(value for value, _label in spec.extra["choices"])]
            if "choices" in spec.extra
            else None,
        )
        for name, spec in filterset.base_filters.items()
    ]
